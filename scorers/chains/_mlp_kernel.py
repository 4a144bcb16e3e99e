"""The fused numba loop of ``scorers.chains.mlp`` (imported only when a chain is built or warmed up).

``fastmath`` lets LLVM vectorise the sums (their order changes, so the values move by rounding, far
inside the 1e-10 parity checked at packaging); the ReLU is ``max(v, 0.0)``, branch-free.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

IDENTITY, LOGISTIC, TANH, RELU = 0, 1, 2, 3


@njit(fastmath=True, nogil=True, cache=False)
def _activate(src, dst, n, hidden):  # type: ignore[no-untyped-def]
    if hidden == RELU:
        for i in range(n):
            dst[i] = max(src[i], 0.0)
    elif hidden == TANH:
        for i in range(n):
            dst[i] = math.tanh(src[i])
    elif hidden == LOGISTIC:
        for i in range(n):
            dst[i] = 1.0 / (1.0 + math.exp(-src[i]))
    else:
        for i in range(n):
            dst[i] = src[i]


@njit(fastmath=True, nogil=True, cache=False)
def _forward(z, widths, rest_w, rest_b, hidden, act, buf, out, r, p, t):  # type: ignore[no-untyped-def]
    """First-layer pre-activations ``z`` -> the output layer's pre-activations, into ``out[r, p, t]``."""
    n_layers = widths.shape[0]
    if n_layers == 1:
        for k in range(widths[0]):
            out[r, p, t, k] = z[k]
        return
    off_w = 0
    off_b = 0
    for layer in range(1, n_layers):
        n_in = widths[layer - 1]
        n_out = widths[layer]
        if layer == 1:
            _activate(z, act, n_in, hidden)
        else:
            _activate(buf, act, n_in, hidden)
        last = layer == n_layers - 1
        for k in range(n_out):
            s = rest_b[off_b + k]
            base = off_w + k * n_in
            for i in range(n_in):
                s += act[i] * rest_w[base + i]
            if last:
                out[r, p, t, k] = s
            else:
                buf[k] = s
        off_w += n_in * n_out
        off_b += n_out


@njit(fastmath=True, nogil=True, cache=False)
def chains(x, bg, orders, group, n_players, w0, b0, widths, rest_w, rest_b, hidden, paired, out):  # type: ignore[no-untyped-def]
    """out[r, p, t] = the output layer's pre-activations of the hybrid taking the first t + 1 players of
    orders[r, p] from x and the rest from bg[r] (``scorers.chains.base.ChainPath.values``)."""
    n_rows, n_orders, m = orders.shape
    d, h = w0.shape
    wide = max(h, widths.max())
    moves = np.empty((n_players, h))
    start = np.empty(h)
    both = np.empty(h)  # start + end: the reverse order's prefixes are both - forward
    z = np.empty(h)
    zr = np.empty(h)
    act = np.empty(wide)
    buf = np.empty(wide)
    step = 2 if paired else 1
    for r in range(n_rows):
        moves[:, :] = 0.0
        for k in range(h):
            start[k] = b0[k]
        for c in range(d):
            bc = bg[r, c]
            dc = x[c] - bc
            j = group[c]
            for k in range(h):
                start[k] += bc * w0[c, k]
                moves[j, k] += dc * w0[c, k]
        if paired:
            for k in range(h):
                end = start[k]
                for j in range(n_players):
                    end += moves[j, k]
                both[k] = start[k] + end
        for p in range(0, n_orders, step):
            for k in range(h):
                z[k] = start[k]
            for t in range(m - 1):
                j = orders[r, p, t]
                for k in range(h):
                    z[k] += moves[j, k]
                _forward(z, widths, rest_w, rest_b, hidden, act, buf, out, r, p, t)
                if paired:
                    for k in range(h):
                        zr[k] = both[k] - z[k]
                    _forward(zr, widths, rest_w, rest_b, hidden, act, buf, out, r, p + 1, m - 2 - t)
