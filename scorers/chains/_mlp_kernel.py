"""The fused numba loop of ``scorers.chains.mlp`` (imported only when a chain is built or warmed up).

Per prefix, one pass over the first layer's units adds the player's move, applies the hidden activation
to the forward prefix and (antithetic orders) to its reverse ``both - z``, and one dot product per output
(per unit of the second layer) finishes a one-hidden-layer network; deeper layers run after it.
``fastmath`` lets LLVM vectorise the passes (the sums' order changes, so the values move by rounding, far
inside the 1e-10 parity checked at packaging); the ReLU is ``max(v, 0.0)``, branch-free.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

IDENTITY, LOGISTIC, TANH, RELU = 0, 1, 2, 3


@njit(fastmath=True, nogil=True, inline="always")
def _act(v, hidden):  # type: ignore[no-untyped-def]
    """The hidden activation (``hidden`` is a compile-time constant in ``chains``: one branch left)."""
    if hidden == RELU:
        return max(v, 0.0)
    if hidden == TANH:
        return math.tanh(v)
    if hidden == LOGISTIC:
        return 1.0 / (1.0 + math.exp(-v))
    return v


@njit(fastmath=True, nogil=True)
def _layers(act, widths, rest_w, rest_b, hidden, buf, nxt, out, r, p, t):  # type: ignore[no-untyped-def]
    """Activated first-layer units ``act`` -> the output layer's pre-activations, into ``out[r, p, t]``."""
    n_layers = widths.shape[0]
    off_w = 0
    off_b = 0
    for i in range(widths[0]):
        buf[i] = act[i]
    for layer in range(1, n_layers):
        n_in = widths[layer - 1]
        n_out = widths[layer]
        last = layer == n_layers - 1
        for k in range(n_out):
            s = rest_b[off_b + k]
            base = off_w + k * n_in
            for i in range(n_in):
                s += buf[i] * rest_w[base + i]
            if last:
                out[r, p, t, k] = s
            else:
                nxt[k] = _act(s, hidden)
        off_w += n_in * n_out
        off_b += n_out
        if not last:
            for k in range(n_out):
                buf[k] = nxt[k]


def compiled(hidden: int):  # type: ignore[no-untyped-def]
    """``chains`` with the hidden activation fixed at compile time (numba freezes the closure's value)."""
    if hidden not in _COMPILED:
        _COMPILED[hidden] = njit(fastmath=True, nogil=True)(_specialised(hidden))
    return _COMPILED[hidden]


_COMPILED: dict[int, object] = {}


def _specialised(hidden: int):  # type: ignore[no-untyped-def]
    def kernel(x, bg, orders, group, n_players, w0, b0, widths, rest_w, rest_b, paired, out):  # type: ignore[no-untyped-def]
        chains(x, bg, orders, group, n_players, w0, b0, widths, rest_w, rest_b, hidden, paired, out)

    return kernel


@njit(fastmath=True, nogil=True, inline="always")
def chains(x, bg, orders, group, n_players, w0, b0, widths, rest_w, rest_b, hidden, paired, out):  # type: ignore[no-untyped-def]
    """out[r, p, t] = the output layer's pre-activations of the hybrid taking the first t + 1 players of
    orders[r, p] from x and the rest from bg[r] (``scorers.chains.base.ChainPath.values``)."""
    n_rows, n_orders, m = orders.shape
    d, h = w0.shape
    n_out = widths[1] if widths.shape[0] > 1 else h
    deep = widths.shape[0] > 2
    wide = max(h, widths.max())
    moves = np.empty((n_players, h))
    start = np.empty(h)
    both = np.empty(h)  # start + end: the reverse order's prefixes are both - forward
    z = np.empty(h)
    a = np.empty(h)
    ar = np.empty(h)
    buf = np.empty(wide)
    nxt = np.empty(wide)
    w1 = rest_w[: h * n_out].reshape(n_out, h) if widths.shape[0] > 1 else np.zeros((0, h))
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
                tr = m - 2 - t
                if widths.shape[0] == 1:  # no hidden layer: the first layer is the output
                    for k in range(h):
                        z[k] += moves[j, k]
                        out[r, p, t, k] = z[k]
                        if paired:
                            out[r, p + 1, tr, k] = both[k] - z[k]
                    continue
                if paired:
                    for k in range(h):
                        v = z[k] + moves[j, k]
                        z[k] = v
                        a[k] = _act(v, hidden)
                        ar[k] = _act(both[k] - v, hidden)
                else:
                    for k in range(h):
                        v = z[k] + moves[j, k]
                        z[k] = v
                        a[k] = _act(v, hidden)
                if deep:
                    _layers(a, widths, rest_w, rest_b, hidden, buf, nxt, out, r, p, t)
                    if paired:
                        _layers(ar, widths, rest_w, rest_b, hidden, buf, nxt, out, r, p + 1, tr)
                    continue
                for o in range(n_out):
                    s = rest_b[o]
                    for k in range(h):
                        s += a[k] * w1[o, k]
                    out[r, p, t, o] = s
                    if paired:
                        s = rest_b[o]
                        for k in range(h):
                            s += ar[k] * w1[o, k]
                        out[r, p + 1, tr, o] = s
