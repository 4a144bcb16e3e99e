"""Exact interventional pairwise SII of tree ensembles, from the tree kind's leaf patterns.

Per leaf and background row the game is an AND game (scorers/kinds/tree.py): the hybrid reaches the
leaf iff every slot of P (x inside, b outside) is in S and no slot of N (x outside, b inside) is, and
no slot has both outside.  For a pair of its slots, D_ij(S) is ``sign * [S contains P', misses N']``
(P' = P less i, j; N' = N less i, j; sign + when both lie on the same side, - otherwise) and the SII
weights sum over the free players to the beta integral p'! q'! / (p' + q' + 1)!, so with p = |P|,
q = |N|:

    i, j in P:  (p-2)! q! / (p+q-1)!      i, j in N:  p! (q-2)! / (p+q-1)!
    one in each:  -(p-1)! (q-1)! / (p+q-1)!      times the leaf value; 0 for a slot inside for both.

As the tree kind tabulates Shapley shares, we tabulate, once per explainer, ``T[leaf, pattern, a, c] =
sum_b w_b * coefficient`` over the 2^Q inside/outside patterns of the explained row (the background
collapsed to its distinct patterns per leaf).  Explaining is a gather and a ``bincount``.  Ensembles
whose table would exceed MAX_ENTRIES are not served here (the caller falls back).
"""

from __future__ import annotations

import math
import weakref
from typing import NamedTuple

import numpy as np

from ..kinds.tree import _TABLE_MAX_SLOTS, TreeScorer
from .values import FloatArray, PairIndex

MAX_ENTRIES = 2**23  # leaves x 2^Q x Q x Q float64: 64 MiB
_CHUNK = 2**21  # entries per step of the build and of explaining


class PairTable(NamedTuple):
    table: FloatArray  # (L, 2^Q, Q, Q)
    bins: np.ndarray  # (L, Q, Q): player pair i * M + j of each slot pair, M * M for padding


def _coefficients(q_max: int) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(both in P, both in N, one in each) by (p, q), zero where undefined."""
    pp, nn, pn = (np.zeros((q_max + 1, q_max + 1)) for _ in range(3))
    f = math.factorial
    for p in range(q_max + 1):
        for q in range(q_max + 1 - p):
            if p >= 2:
                pp[p, q] = f(p - 2) * f(q) / f(p + q - 1)
            if q >= 2:
                nn[p, q] = f(p) * f(q - 2) / f(p + q - 1)
            if p >= 1 and q >= 1:
                pn[p, q] = f(p - 1) * f(q - 1) / f(p + q - 1)
    return pp, nn, pn


def fits(scorer: TreeScorer) -> bool:
    n_leaves, q_max = scorer.slots_[True][0].shape
    return q_max <= _TABLE_MAX_SLOTS and n_leaves * (1 << q_max) * q_max * q_max <= MAX_ENTRIES


def build(scorer: TreeScorer) -> PairTable:
    player_slot = scorer.slots_[True][0]
    n_leaves, q_max = player_slot.shape
    n_pat = 1 << q_max
    full = n_pat - 1
    pats = np.arange(n_pat)
    outside = ~((pats[:, None] >> np.arange(q_max)) & 1).astype(bool)  # (2^Q, Q)
    n_out = outside.sum(axis=1)
    pp, nn, pn = _coefficients(q_max)
    b_d, w_d = scorer.background_patterns(True)  # (L, D)
    n_d = b_d.shape[1]
    out_b = outside[b_d].astype(np.float64)  # (L, D, Q)
    p_b = n_out[b_d]  # (L, D)
    ox = outside.astype(np.float64)
    both_x = ox[:, :, None] * ox[:, None, :]  # (2^Q, Q, Q)
    table = np.empty((n_leaves, n_pat, q_max, q_max))
    step = max(1, _CHUNK // (n_pat * max(n_d, q_max * q_max)))
    for lo in range(0, n_leaves, step):
        hi = min(lo + step, n_leaves)
        # alive iff no slot is outside for both: then P = b's outside slots (|P| by b), N = x's (|N| by x)
        alive = (pats[None, :, None] | b_d[lo:hi, None, :]) == full  # (l, 2^Q, D)
        a = alive * w_d[lo:hi, None, :]
        p, q = p_b[lo:hi, None, :], n_out[None, :, None]
        both_b = (out_b[lo:hi, :, :, None] * out_b[lo:hi, :, None, :]).reshape(hi - lo, n_d, -1)
        t = np.matmul(a * pp[p, q], both_b).reshape(hi - lo, n_pat, q_max, q_max)
        t += (a * nn[p, q]).sum(axis=2)[:, :, None, None] * both_x[None]
        mixed = np.matmul(a * pn[p, q], out_b[lo:hi])  # (l, 2^Q, Q): sum_d weight * [a in P]
        t -= mixed[:, :, :, None] * ox[None, :, None, :] + ox[None, :, :, None] * mixed[:, :, None, :]
        table[lo:hi] = t
    diag = np.arange(q_max)
    table[:, :, diag, diag] = 0.0
    m = scorer.ctx_.masking.n_players
    valid = (player_slot[:, :, None] >= 0) & (player_slot[:, None, :] >= 0)
    bins = np.where(valid, player_slot[:, :, None] * m + player_slot[:, None, :], m * m)
    return PairTable(table, bins)


_TABLES: weakref.WeakKeyDictionary[TreeScorer, PairTable] = weakref.WeakKeyDictionary()


def pair_index(scorer: TreeScorer, x: np.ndarray) -> PairIndex:
    """Exact SII (n, K, M, M); the table is built on the first call and kept with the scorer."""
    if scorer not in _TABLES:
        _TABLES[scorer] = build(scorer)
    pt = _TABLES[scorer]
    m = scorer.ctx_.masking.n_players
    n_leaves, n_pat, q_max, _ = pt.table.shape
    values = scorer.leaf_value_  # (L, K')
    out = np.empty((x.shape[0], values.shape[1], m, m))
    step = max(1, _CHUNK // (n_leaves * q_max * q_max))
    leaf = np.arange(n_leaves)[:, None]
    cells = m * m + 1
    for lo in range(0, x.shape[0], step):
        xs = x[lo : lo + step]
        rows = len(xs)
        got = pt.table[leaf, scorer._patterns(xs, True)]  # (L, rows, Q, Q)
        # bincount adds in input order: a row's sums do not depend on the rows beside it
        bins = (pt.bins[:, None] + (np.arange(rows) * cells)[None, :, None, None]).ravel()
        for k in range(values.shape[1]):
            summed = np.bincount(
                bins, weights=(got * values[:, k, None, None, None]).ravel(), minlength=rows * cells
            )
            out[lo : lo + rows, k] = summed.reshape(rows, cells)[:, : m * m].reshape(rows, m, m)
    return PairIndex(scorer._to_space(out))
