"""Exact pairwise SII of any model with few players: the game on all 2^M coalitions, then a fixed
linear map from those values to every pair's index (``values`` states the definition)."""

from __future__ import annotations

import functools
import math

import numpy as np

from ..masking import Game
from .values import FloatArray, PairIndex

# 2^M coalitions x background rows per row explained: the exact kind's cap
MAX_PLAYERS = 12


@functools.cache
def sii_map(m: int) -> tuple[np.ndarray, FloatArray]:
    """(masks (2^M, M): coalition c holds player j iff bit j of c is set; W (M, M, 2^M) with
    SII_ij = W[i, j] @ v), for M >= 2."""
    codes = np.arange(1 << m)
    masks = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
    size = masks.sum(axis=1)
    weight = np.array(
        [math.factorial(s) * math.factorial(m - s - 2) / math.factorial(m - 1) for s in range(m - 1)]
    )
    w = np.zeros((m, m, 1 << m))
    for i in range(m):
        for j in range(i + 1, m):
            bi, bj = 1 << i, 1 << j
            s = codes[(codes & (bi | bj)) == 0]  # coalitions without i and j
            ws = weight[size[s]]
            for code, sign in ((s | bi | bj, 1.0), (s | bi, -1.0), (s | bj, -1.0), (s, 1.0)):
                w[i, j, code] += sign * ws
            w[j, i] = w[i, j]
    return masks, w


def pair_index(game: Game, x: np.ndarray) -> PairIndex:
    """Exact SII (n, K, M, M) of each row against the game's background, one row per model call (a row's
    values do not depend on the rows beside it)."""
    m = game.masking.n_players
    n, k = x.shape[0], game.base.shape[0]
    out = np.zeros((n, k, m, m))
    if m < 2:
        return PairIndex(out)
    masks, w = sii_map(m)
    for r in range(n):
        v = game.values(np.ascontiguousarray(x[r : r + 1]), masks)[0]  # (2^M, K)
        out[r] = np.einsum("ijc,ck->kij", w, v)
    return PairIndex(out)
