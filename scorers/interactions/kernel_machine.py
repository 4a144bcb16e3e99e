"""Exact pairwise SII of RBF kernel machines (the kernel_machine kind's product form).

Against one background row, a support vector's game is a product game ``alpha prod_k g_k(S)`` with
``g_k = a_k`` inside S and ``c_k`` outside.  Its D_ij(S) is ``(a_i - c_i)(a_j - c_j)`` times the product
over the other players, so, as for the Shapley value (scorers/kinds/kernel_machine.py),

    SII_ij = alpha (a_i - c_i)(a_j - c_j) integral_0^1 prod_{k != i, j} ((1 - t) c_k + t a_k) dt,

a polynomial of degree M-2 in t: the kind's Gauss-Legendre nodes (exact to degree M-1) integrate it
exactly.  With ``coef = node weight * w_b * alpha * prod_k g_k`` and ``ratio_j = (a_j - c_j) / g_j``
(bounded: g_j >= min(t, 1-t) |a_j - c_j|; 0 where both factors underflow) the index is
``sum coef * ratio_i * ratio_j`` over nodes and pairs: one matrix product per row.  The kind's pruning
applies: a pair's bound |alpha| w_b prod_k max(a_k, c_k) also bounds its contribution to every SII_ij.
"""

from __future__ import annotations

import numpy as np

from ..kinds.kernel_machine import PAIR_BLOCK, KernelMachineScorer, _kept_pairs
from ..runtimes.base import CLASSIFIER
from .values import PairIndex


def pair_index(scorer: KernelMachineScorer, x: np.ndarray) -> PairIndex:
    ctx = scorer.ctx_
    m = ctx.masking.n_players
    weights = ctx.game.weights
    log_a = scorer._log_factors(np.asarray(x, dtype=np.float64))  # (n, S, M)
    scale = np.abs(weights[:, None] * scorer.alpha_[None, :])  # (nb, S)
    t = scorer.nodes_[:, None, None]
    out = np.zeros((x.shape[0], 1, m, m))
    for r in range(x.shape[0]):
        bound = scale * np.exp(np.maximum(log_a[r][None], scorer.log_c_).sum(axis=-1))
        b_all, s_all = np.unravel_index(_kept_pairs(bound), bound.shape)
        for lo in range(0, len(b_all), PAIR_BLOCK):
            b, s = b_all[lo : lo + PAIR_BLOCK], s_all[lo : lo + PAIR_BLOCK]
            c = np.exp(scorer.log_c_[b, s])  # (P, M)
            diff = np.exp(log_a[r][s]) - c
            g = t * diff[None] + c[None]  # (Q, P, M): the factors (1-t) c + t a at every node
            coef = (
                scorer.node_weights_[:, None] * (weights[b] * scorer.alpha_[s])[None, :] * np.prod(g, axis=-1)
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.nan_to_num(diff[None] / g, nan=0.0, posinf=0.0, neginf=0.0).reshape(-1, m)
            out[r, 0] += ratio.T @ (coef.reshape(-1, 1) * ratio)
    diag = np.arange(m)
    out[..., diag, diag] = 0.0
    if ctx.task == CLASSIFIER:
        out = np.concatenate([-out, out], axis=1)
    return PairIndex(out)
