"""The brute-force pairwise Shapley interaction oracle (a helper of the tests, no tests here).

Independent of ``scorers/``, like the Shapley oracle it extends (``scorer_support.coalition_values``:
hybrid raw rows, the model's own output, every coalition): for i != j,

    SII_ij = sum_{S without i, j} |S|! (M-|S|-2)! / (M-1)! (v(S+i+j) - v(S+i) - v(S+j) + v(S)),

and the served matrix puts SII_ij / 2 off the diagonal and phi_i - sum_{j != i} SII_ij / 2 on it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from tests.scorers.scorer_support import coalition_values, frame_model, shapley_oracle


def sii_oracle(
    f: Callable[[pd.DataFrame], np.ndarray], background: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame
) -> np.ndarray:
    """Brute-force interventional SII: (n, K, M, M), symmetric, zero diagonal."""
    m = background.shape[1]
    v, fx = coalition_values(f, background, weights, rows)
    n, k = fx.shape
    sii = np.zeros((n, k, m, m))
    for i, j in itertools.combinations(range(m), 2):
        others = [p for p in range(m) if p not in (i, j)]
        for r in range(m - 1):
            wt = math.factorial(r) * math.factorial(m - r - 2) / math.factorial(m - 1)
            for s in itertools.combinations(others, r):
                s0 = frozenset(s)
                sii[:, :, i, j] += wt * (v[s0 | {i, j}] - v[s0 | {i}] - v[s0 | {j}] + v[s0])
        sii[:, :, j, i] = sii[:, :, i, j]
    return sii


def interaction_oracle(
    f: Callable[[pd.DataFrame], np.ndarray], background: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(served matrix (n, K, M, M) from the oracle's own SHAP values, SII, base (K,))."""
    sii = sii_oracle(f, background, weights, rows)
    phi, base, _ = shapley_oracle(f, background, weights, rows)
    matrix = sii / 2.0
    diag = np.arange(sii.shape[-1])
    matrix[..., diag, diag] = phi - matrix.sum(axis=-1)
    return matrix, sii, base


def interaction_oracle_for(
    explainer: Any, model: Any, rows: pd.DataFrame, *, as_array: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The oracle against the explainer's own packaged background (raw rows and weights)."""
    f = frame_model(model, explainer.output_space, as_array=as_array)
    bg = explainer.background
    return interaction_oracle(f, bg.raw, np.asarray(bg.weights), rows)
