"""Exact pairwise SII of RBF kernel machines (the kernel_machine kind's product form).

Against one background row, a support vector's game is a product game ``alpha prod_k g_k(S)`` with
``g_k = a_k`` inside S and ``c_k`` outside.  Its D_ij(S) is ``(a_i - c_i)(a_j - c_j)`` times the product
over the other players, so, as for the Shapley value (scorers/kinds/kernel_machine.py),

    SII_ij = alpha (a_i - c_i)(a_j - c_j) integral_0^1 prod_{k != i, j} ((1 - t) c_k + t a_k) dt,

a polynomial of degree M-2 in t: the kind's Gauss-Legendre nodes (exact to degree M-1) integrate it
exactly.  With the kind's node terms (coef = node weight * w_b * alpha * prod_k g_k, ratio_j =
(a_j - c_j) / g_j) the index is ``sum coef * ratio_i * ratio_j``: one matrix product per row.
"""

from __future__ import annotations

import numpy as np

from ..kinds.kernel_machine import KernelMachineScorer
from ..runtimes.base import CLASSIFIER
from .values import PairIndex


def pair_index(scorer: KernelMachineScorer, x: np.ndarray) -> PairIndex:
    ctx = scorer.ctx_
    m = ctx.masking.n_players
    out = np.zeros((x.shape[0], 1, m, m))
    for r, (_, coef, ratio) in enumerate(scorer.node_terms(x, ctx.game.weights)):
        flat = ratio.reshape(-1, m)  # (Q * P, M)
        out[r, 0] = flat.T @ (coef.reshape(-1, 1) * flat)
    diag = np.arange(m)
    out[..., diag, diag] = 0.0
    if ctx.task == CLASSIFIER:
        out = np.concatenate([-out, out], axis=1)
    return PairIndex(out)
