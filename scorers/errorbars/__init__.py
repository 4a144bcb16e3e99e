"""Error bars: an estimate of each explained row's distance to its full-data Shapley values.

- ``sampling``: the coalition sampling standard error of a design scorer's estimate (a pair-grouped
  sandwich on the KernelSHAP regression's residuals), computed from the coalition values already evaluated;
  ``with_se``: a scorer's values with their standard errors (the ``permutation`` kind's count its
  background sample too);
- ``estimate``: ``ErrorEstimate``, the sampling part plus the background part the manifest states
  (``fidelity``), per value and per row;
- ``refine``: ``max_error``: larger designs for the rows whose estimate misses a target, within a time budget.

See docs/fidelity.md#error-bars for the definitions and the measured coverage.
"""

from __future__ import annotations

from .estimate import ErrorEstimate, background_rel_error, combine
from .refine import Refined, refine
from .sampling import with_se

__all__ = ["ErrorEstimate", "Refined", "background_rel_error", "combine", "refine", "with_se"]
