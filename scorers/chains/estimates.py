"""Each background row's estimate and sampling variance from a chain path's prefix values, in one pass.

The same quantities as ``scorers.permutations.row_estimates(contributions(...))`` (the estimator is
defined there: the mean of the antithetic pairs' means, and their variance over the pairs, or with one
pair the half-difference squared), equal to rounding (tested), without the per-player arrays the numpy
version builds: at 8 or more pairs per background row those arrays cost more than the chain itself.  Used
by the ``permutation`` scorer only where a chain path is served, so numba is there.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def row_estimates(
    orders: np.ndarray, chain: FloatArray, at_rows: FloatArray, at_x: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """``orders`` (R, P, M) with P even (antithetic pairs), ``chain`` (R, P, M - 1, K), ``at_rows``
    (R, K), ``at_x`` (K,) -> (estimates (R, K, M), variances (R, K, M))."""
    from ._estimates_kernel import estimates

    r, p, m = orders.shape
    k = chain.shape[-1]
    est, var = np.empty((r, k, m)), np.empty((r, k, m))
    estimates(
        np.ascontiguousarray(chain, dtype=np.float64),
        np.ascontiguousarray(at_rows, dtype=np.float64),
        np.ascontiguousarray(at_x, dtype=np.float64),
        np.ascontiguousarray(orders, dtype=np.int64),
        est,
        var,
    )
    return est, var


def warm_up() -> None:
    """Compile the pass (at load, with the chain path's own ``warm_up``)."""
    orders = np.array([[[0, 1], [1, 0]]], dtype=np.int64)
    row_estimates(orders, np.zeros((1, 2, 1, 1)), np.zeros((1, 1)), np.zeros(1))
