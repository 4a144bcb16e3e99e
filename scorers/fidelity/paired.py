"""Which measured candidates the checked rows cannot tell apart: a paired test on their per-row errors.

The candidates of a choice (``tune._best_split``: the anchored kernel's splits) are measured on the same
checked rows, so their difference is best judged row by row: d_i = e_i(candidate) - e_i(best), whose
mean over n rows has the standard error sd(d) / sqrt(n).  A candidate whose mean difference from the
smallest is within ``TIE_SE`` such standard errors is an equal of the smallest, and the caller serves
the cheapest of the equals: the one-standard-error rule of model selection (Breiman et al. 1984;
Hastie, Tibshirani and Friedman, 7.10).  Issue 23's seed SVC in probability space: on 16 checked rows
the 16 x 256 secant split measured 7% below the secant alone on 64 rows, 0.2 standard errors apart,
and was the worse on the statement rows and on unseen rows (docs/fidelity.md, "Which split: a paired
test", decision 56).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .measure import FloatArray

# standard errors of the paired mean difference within which candidates are equals: 2 (a 95% test) made
# the 8-feature SVC's 32-row split (1.6 s.e. worse on its checked rows, 1.8x on unseen rows) an equal
TIE_SE = 1.0


def equals(per_row: Sequence[FloatArray], tie: float = 1.0) -> list[int]:
    """Positions of the candidates whose mean per-row error (``per_row[c]``: one error per checked row,
    the same rows for every candidate) is within ``TIE_SE`` paired standard errors of the smallest
    mean, or within ``tie`` x it (so that errors a last bit apart, whose differences have no spread,
    are equals too); the smallest among them."""
    errors = np.asarray([np.asarray(e, dtype=np.float64) for e in per_row])
    means = errors.mean(axis=1)
    best = int(np.argmin(means))
    diff = errors - errors[best]
    n = errors.shape[1]
    se = diff.std(axis=1, ddof=1) / math.sqrt(n) if n > 1 else np.zeros(len(errors))
    return [
        i for i in range(len(errors)) if diff[i].mean() <= TIE_SE * se[i] or means[i] <= tie * means[best]
    ]


def preferred_of_equals(per_row: Sequence[FloatArray], keys: Sequence[Any], tie: float = 1.0) -> int:
    """The position, among ``equals(per_row, tie)``, of the smallest ``keys`` (the first of equal keys)."""
    return min(equals(per_row, tie), key=lambda i: keys[i])
