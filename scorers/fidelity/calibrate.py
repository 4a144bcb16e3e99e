"""Calibrated backgrounds: a few pool rows with weights fitted so that the explanations match the full data.

A weighting ``w`` of pool rows gives every row the values ``sum_b w_b phi(x; b)`` (linear in ``w``).
On calibration rows (training rows, held apart from the checked ones) we know each pool row's own
values and the full-data values, so the weights are a non-negative least-squares fit of the one to
the other, with ``sum w = 1`` and the base value ``sum_b w_b f(b)`` matching the full data's.  The
rows are then thinned by halves, refitting each time: the ``4 size`` rows of largest weight, then
``2 size``, then ``size`` (iterative hard thresholding).  Keeping the ``size`` largest weights of the one
fit over every candidate drops rows whose share the rest cannot take up: on the seed's SVC (margin, 50
rows, 40 test rows) one cut left 8.0% against the full data, the halving 3.6%; on the eight held-out
models of ``benchmarks.fidelity`` it was as good or better everywhere (docs/fidelity.md).  Any weights
that sum to 1 keep the explanations additive: they define a proper (weighted) background.
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import nnls

from .measure import FloatArray

# columns of the least-squares problem (pool rows); a larger pool is sampled down to this many
MAX_CANDIDATES = 1500
_SUM_WEIGHT = 1e3  # how hard sum(w) = 1 is held (relative to the scaled residuals)
THIN_START = 4  # the first cut keeps 4 x size rows, then halves to size (see the module's text)


def fit_weights(
    splits: FloatArray, target: FloatArray, outputs: FloatArray, base: FloatArray, columns: np.ndarray
) -> np.ndarray:
    """Non-negative weights of the pool rows ``columns`` (summing to 1).

    ``splits``: (n, P, K, M) each pool row's values at the calibration rows; ``target``: (n, K, M) the
    full-data values; ``outputs``: (P, K) the model at the pool rows; ``base``: (K,) the full data's mean.
    """
    n, _, k, m = splits.shape
    a = np.transpose(splits[:, columns], (0, 2, 3, 1)).reshape(n * k * m, len(columns))
    y = target.reshape(-1)
    scale = max(float(np.mean(np.abs(y))), 1e-300)
    base_weight = np.sqrt(m)  # the base value counts like one row's M values
    a_aug = np.vstack(
        [a / scale, base_weight * outputs[columns].T / scale, _SUM_WEIGHT * np.ones((1, len(columns)))]
    )
    y_aug = np.concatenate([y / scale, base_weight * base / scale, [_SUM_WEIGHT]])
    w, _ = nnls(a_aug, y_aug, maxiter=50 * len(columns))
    total = w.sum()
    return w / total if total > 0 else np.full(len(columns), 1.0 / len(columns))


def calibrated(
    splits: FloatArray, target: FloatArray, outputs: FloatArray, base: FloatArray, size: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """(pool columns kept, their weights): at most ``size`` rows."""
    n_pool = splits.shape[1]
    candidates = np.arange(n_pool)
    if n_pool > MAX_CANDIDATES:
        candidates = np.sort(np.random.default_rng(seed).choice(n_pool, MAX_CANDIDATES, replace=False))
    w = fit_weights(splits, target, outputs, base, candidates)
    keep = THIN_START * size
    while True:
        order = np.argsort(-w, kind="stable")
        candidates = candidates[np.sort(order[: min(keep, int(np.count_nonzero(w)) or 1)])]
        w = fit_weights(splits, target, outputs, base, candidates)
        if keep <= size:
            return candidates, w
        keep = max(size, keep // 2)


def values_of(splits: FloatArray, columns: np.ndarray, weights: np.ndarray) -> FloatArray:
    """(n, K, M) values of rows under the weighting ``weights`` of pool rows ``columns``."""
    return np.einsum("b,nbkm->nkm", weights, splits[:, columns])
