"""The fused numba loops of ``scorers.kinds.kernel_machine`` (imported only when the scorer serves them).

The same arithmetic as the scorer's numpy path (its reference), one (background row, support vector) pair
at a time instead of numpy passes over blocks of pairs: ``kept`` screens and bounds every pair and
returns the kept ones with each player's largest ``|log a - log c|`` (the input of ``_Plan``);
``values`` sums the kept pairs' Shapley values.  Per pair, only arrays of the players' or the nodes'
length are touched (no (players, nodes, pairs) temporaries).  The background's factors are read
pair-major, ``(background row x support vector, players)``: one pair's factors are contiguous.
``kept`` has no ``fastmath``: its pruning decisions compare the same bounds as the numpy path; ``values``
only reassociates and fuses (its sums move by rounding, tested to 1e-12 against the numpy path).

Both are cached on disk by numba where it finds a writable place (``NUMBA_CACHE_DIR``, which the image sets
to /tmp/numba, next to this file, or the user's cache directory); where it finds none (a read-only
filesystem without that variable) they are compiled at each load instead of failing the import
(``_jit``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit


def _jit(**options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``njit(cache=True, **options)``, or without the cache where numba has no writable place for it
    (numba raises RuntimeError "cannot cache function ...: no locator available" when decorating)."""

    def wrap(fn: Callable[..., Any]) -> Any:
        try:
            return njit(cache=True, **options)(fn)
        except RuntimeError:
            return njit(**options)(fn)

    return wrap


@_jit(nogil=True)
def kept(log_a, log_scale, screen, screen_c, log_c, threshold, tol):  # type: ignore[no-untyped-def]
    """The pairs to compute for one row (``KernelMachineScorer._kept``): log_a (S, M) the row's log
    factors, log_scale (nb S,) ``log |w_b alpha_i|``, screen (SCREEN,) the screening players, screen_c
    (nb, SCREEN, S) and log_c (nb S, M) the background's log factors, threshold the screened log bound a
    candidate reaches, tol the share of PRUNE_TOL the full bounds may drop.  Returns (the kept pairs'
    flat indices ``b S + i`` in increasing order, the sum of their bounds, spread (M,): the largest
    ``|log a - log c|`` over them per player, 0 if none)."""
    n_pairs = log_scale.shape[0]
    n_sv, m = log_a.shape
    n_screen = screen.shape[0]
    log_a_screen = np.empty((n_screen, n_sv))
    for i in range(n_screen):
        for s in range(n_sv):
            log_a_screen[i, s] = log_a[s, screen[i]]
    cand = np.empty(n_pairs, dtype=np.int64)
    bound = np.empty(n_pairs)
    upper = np.empty(n_sv)
    n = 0
    for b in range(n_pairs // n_sv):  # one background row's pairs: the screen runs over its S vectors
        lo = b * n_sv
        for s in range(n_sv):
            upper[s] = log_scale[lo + s]
        for i in range(n_screen):
            for s in range(n_sv):
                upper[s] += max(screen_c[b, i, s], log_a_screen[i, s])
        for s in range(n_sv):
            if upper[s] >= threshold:
                p = lo + s
                total = 0.0
                for k in range(m):
                    total += max(log_a[s, k], log_c[p, k])
                bound[n] = math.exp(log_scale[p] + total)
                cand[n] = p
                n += 1
    bound = bound[:n]
    keep = bound >= tol
    small = 0.0
    for i in range(n):
        if not keep[i]:
            small += bound[i]
    if small >= tol:  # the smallest bounds go first, while they sum to under tol (_kept_pairs): all
        under = np.flatnonzero(~keep)  # of them are under tol (any other alone reaches it)
        order = under[np.argsort(bound[under])]
        keep[:] = True
        drop = np.searchsorted(np.cumsum(bound[order]), tol)
        for i in range(drop):
            keep[order[i]] = False
    out = np.empty(n, dtype=np.int64)
    spread = np.zeros(m)
    bound_sum = 0.0
    n_kept = 0
    for i in range(n):
        if keep[i]:
            p = cand[i]
            out[n_kept] = p
            n_kept += 1
            bound_sum += bound[i]
            s = p % n_sv
            for k in range(m):
                spread[k] = max(spread[k], abs(log_a[s, k] - log_c[p, k]))
    return out[:n_kept], bound_sum, spread


LANES = 16  # pairs computed side by side: the innermost loops run over them (SIMD-wide, no branches)


@_jit(nogil=True, fastmath={"reassoc", "contract", "nsz"})
def values(pairs, a, c, log_c, weights, alpha, active, passive, degree, t, w, per_background, out):  # type: ignore[no-untyped-def]
    """Adds the Shapley values of the kept pairs' product games into out: out[b] (per_background) or
    out[0], (rows, M).  a (S, M) the row's factors, c and log_c (nb S, M) the background's, weights
    (nb,), alpha (S,), active and passive the ``_Plan``'s players, degree its passive polynomial's
    degree, t and w its Gauss-Legendre nodes and weights on [0, 1] (``_Plan.values``).  ``LANES`` pairs
    at a time, every array (players or nodes, lanes) small enough for L1; a short last block is padded
    with pairs of zero weight.  ``fastmath`` only reassociates and fuses (no NaN or inf assumptions): the
    values move by rounding."""
    n_sv, m = a.shape
    n_act, n_pas, n_nodes = active.shape[0], passive.shape[0], t.shape[0]
    lanes = LANES
    powers = np.empty((degree + 1, n_nodes))  # t_q^n
    for q in range(n_nodes):
        powers[0, q] = 1.0
        for d in range(1, degree + 1):
            powers[d, q] = powers[d - 1, q] * t[q]
    rows, coef, c_b = np.empty(lanes, dtype=np.int64), np.empty(lanes), np.empty(lanes)
    diff, c_act = np.empty((n_act, lanes)), np.empty((n_act, lanes))
    width_qn = n_nodes * lanes  # (node, lane) flattened: node q's lanes at q * lanes
    g, before = np.empty((n_act, width_qn)), np.empty((n_act, width_qn))
    prefix, after = np.empty(width_qn), np.empty(width_qn)
    acc, h = np.empty(lanes), np.empty(lanes)
    delta, e = np.empty((n_pas, lanes)), np.empty((degree + 1, lanes))
    moments, f = np.empty((degree + 1, lanes)), np.empty((degree + 1, lanes))
    total = np.zeros((m, lanes))  # per player and lane, summed into out[0] at the end (not per_background)
    n_pairs = pairs.shape[0]
    for lo in range(0, n_pairs, lanes):
        width = min(lanes, n_pairs - lo)
        for ln in range(lanes):  # gather: the pairs' factors, players first, lanes last
            pp = lo + ln if ln < width else lo  # padding: the block's first pair again, of zero weight
            p = pairs[pp]
            b = p // n_sv
            s = p - b * n_sv
            rows[ln] = b
            coef[ln] = weights[b] * alpha[s] if ln < width else 0.0
            for j in range(n_act):
                k = active[j]
                diff[j, ln] = a[s, k] - c[p, k]
                c_act[j, ln] = c[p, k]
            log_sum = 0.0
            for j in range(n_pas):
                k = passive[j]
                log_sum += log_c[p, k]
                delta[j, ln] = (a[s, k] - c[p, k]) / c[p, k]  # a/c - 1 (the difference is exact: Sterbenz)
            c_b[ln] = coef[ln] * math.exp(log_sum)  # coef prod_B c_k
        if n_pas:
            e[:, :] = 0.0  # prod_B (1 + t delta_k): its coefficients to degree D
            e[0, :] = 1.0
            for j in range(n_pas):
                for d in range(min(j + 1, degree), 0, -1):
                    for ln in range(lanes):
                        e[d, ln] += delta[j, ln] * e[d - 1, ln]
            for q in range(n_nodes):  # each node's weight: w_q coef prod_B c_k (1 + t_q delta_k)
                o = q * lanes
                for ln in range(lanes):
                    after[o + ln] = 0.0
                for d in range(degree + 1):
                    for ln in range(lanes):
                        after[o + ln] += powers[d, q] * e[d, ln]
                for ln in range(lanes):
                    after[o + ln] *= w[q] * c_b[ln]
        else:
            for q in range(n_nodes):
                for ln in range(lanes):
                    after[q * lanes + ln] = w[q]
        for i in range(width_qn):
            prefix[i] = 1.0
        for j in range(n_act):  # the products of the factors before j, at every node and lane
            gj, bj, dj, cj = g[j], before[j], diff[j], c_act[j]
            for q in range(n_nodes):
                tq, o = t[q], q * lanes
                for ln in range(lanes):
                    gj[o + ln] = tq * dj[ln] + cj[ln]
            for i in range(width_qn):
                bj[i] = prefix[i]
            for i in range(width_qn):
                prefix[i] *= gj[i]
        for j in range(n_act - 1, -1, -1):  # leave-one-out: times the products after j, no division
            gj, bj = g[j], before[j]
            for ln in range(lanes):
                acc[ln] = 0.0
            for q in range(n_nodes):
                o = q * lanes
                for ln in range(lanes):
                    acc[ln] += bj[o + ln] * after[o + ln]
            for i in range(width_qn):
                after[i] *= gj[i]
            for ln in range(lanes):
                acc[ln] *= diff[j, ln] if n_pas else coef[ln] * diff[j, ln]
            _add(out, total, rows, active[j], acc, width, per_background)
        if not n_pas:
            continue
        moments[:, :] = 0.0  # sum_q w_q t_q^n prod_A g(t_q)
        for d in range(degree + 1):
            for q in range(n_nodes):
                for ln in range(lanes):
                    moments[d, ln] += w[q] * powers[d, q] * prefix[q * lanes + ln]
        f[:, :] = 0.0  # f_r = sum_m moments_(m+r) e_m
        for r in range(degree + 1):
            for mm in range(degree + 1 - r):
                for ln in range(lanes):
                    f[r, ln] += moments[mm + r, ln] * e[mm, ln]
        for j in range(n_pas):  # delta_j prod_B c_k sum_r (-delta_j)^r f_r, by Horner
            for ln in range(lanes):
                h[ln] = f[degree, ln]
            for r in range(degree - 1, -1, -1):
                for ln in range(lanes):
                    h[ln] = h[ln] * -delta[j, ln] + f[r, ln]
            for ln in range(lanes):
                h[ln] *= delta[j, ln] * c_b[ln]
            _add(out, total, rows, passive[j], h, width, per_background)
    if not per_background:
        for k in range(m):
            for ln in range(lanes):
                out[0, k] += total[k, ln]


@njit(nogil=True, inline="always")
def _add(out, total, rows, k, v, width, per_background):  # type: ignore[no-untyped-def]
    """Player k's values of the block's lanes into out (per background row) or the lanes' totals."""
    if per_background:
        for ln in range(width):
            out[rows[ln], k] += v[ln]
    else:
        for ln in range(v.shape[0]):
            total[k, ln] += v[ln]
