"""The numba pass of ``scorers.chains.estimates`` (imported only with a chain path, which needs numba)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True)
def estimates(chain, at_rows, at_x, ranks, est, var):  # type: ignore[no-untyped-def]
    """est[r, k, j], var[r, k, j] from the prefix values ``chain`` (R, P, M - 1, K) of antithetic pairs."""
    n_rows, n_orders, steps, n_out = chain.shape
    m = steps + 1
    n_pairs = n_orders // 2
    means = np.empty((n_pairs, m))
    for r in range(n_rows):
        for k in range(n_out):
            for q in range(n_pairs):
                for j in range(m):
                    total = 0.0
                    half = 0.0
                    for side in range(2):
                        p = 2 * q + side
                        t = ranks[r, p, j]
                        lo = at_rows[r, k] if t == 0 else chain[r, p, t - 1, k]
                        hi = at_x[k] if t == m - 1 else chain[r, p, t, k]
                        total += hi - lo
                        half = hi - lo - half  # side 1: b - a
                    means[q, j] = total * 0.5
                    if n_pairs == 1:
                        var[r, k, j] = (half * 0.5) ** 2  # ((a - b) / 2)^2, the sign squared away
            for j in range(m):
                s = 0.0
                for q in range(n_pairs):
                    s += means[q, j]
                mean = s / n_pairs
                est[r, k, j] = mean
                if n_pairs >= 2:
                    ss = 0.0
                    for q in range(n_pairs):
                        dev = means[q, j] - mean
                        ss += dev * dev
                    var[r, k, j] = ss / (n_pairs - 1) / n_pairs
