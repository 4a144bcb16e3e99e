"""The numba pass of ``scorers.chains.estimates`` (imported only with a chain path, which needs numba)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(nogil=True)
def estimates(chain, at_rows, at_x, orders, est, var):  # type: ignore[no-untyped-def]
    """est[r, k, j], var[r, k, j] from the prefix values ``chain`` (R, P, M - 1, K) of antithetic pairs:
    each order's steps walked in order and added to the player that takes them."""
    n_rows, n_orders, steps, n_out = chain.shape
    m = steps + 1
    n_pairs = n_orders // 2
    means = np.empty((n_pairs, m, n_out))
    half = np.empty((m, n_out))
    prev = np.empty(n_out)
    for r in range(n_rows):
        for q in range(n_pairs):
            pm = means[q]
            pm[:, :] = 0.0
            for side in range(2):
                p = 2 * q + side
                for k in range(n_out):
                    prev[k] = at_rows[r, k]
                for t in range(m):
                    j = orders[r, p, t]
                    for k in range(n_out):
                        cur = chain[r, p, t, k] if t < steps else at_x[k]
                        step = cur - prev[k]
                        prev[k] = cur
                        if side == 0:
                            pm[j, k] = step
                            half[j, k] = step
                        else:
                            pm[j, k] = half[j, k] + step
                            half[j, k] = half[j, k] - step
            for j in range(m):
                for k in range(n_out):
                    pm[j, k] = pm[j, k] * 0.5
                    if n_pairs == 1:
                        h = half[j, k] / 2.0
                        var[r, k, j] = h * h
        for j in range(m):
            for k in range(n_out):
                s = 0.0
                for q in range(n_pairs):
                    s += means[q, j, k]
                mean = s / n_pairs
                est[r, k, j] = mean
                if n_pairs >= 2:
                    ss = 0.0
                    for q in range(n_pairs):
                        dev = means[q, j, k] - mean
                        ss += dev * dev
                    var[r, k, j] = ss / (n_pairs - 1) / n_pairs
