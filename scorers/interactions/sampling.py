"""Estimated pairwise SII for models with many players: every pair from one set of sampled coalitions.

SII_ij is an expectation: with |S| uniform on 0..M-2 and S uniform among the subsets of that size of
the other M-2 players, SII_ij = E[D_ij(S)] (the SII weights of each size sum to 1/(M-1)).  We draw
coalitions S_t from all M players (|S| uniform on 0..M-2, then S uniform of that size) and evaluate
v(S_t), v(S_t + i) and v(S_t + i + j) for every i, j outside S_t; each draw gives every pair outside it
a sample, reweighted to the pair's own distribution by C(M, s) / C(M-2, s) = M (M-1) / ((M-s)(M-s-1)):

    SII_ij ~ (1/T) sum_t r_t [i, j not in S_t] D_ij(S_t),

unbiased, with the standard error of that mean (sample standard deviation / sqrt(T)) stated per pair.
The draws are seeded: a row's values do not depend on the request it comes in.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ..masking import Game
from .values import PairIndex

DEFAULT_DRAWS = 64


class Design:
    """masks (C, M); per draw t: its ratio r_t (T,), the row of v(S_t) (T,), of v(S_t + i) (T, M) and of
    v(S_t + i + j) (T, M, M), each index C (a row of zeros) where the player is in S_t."""

    def __init__(self, m: int, draws: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        masks: list[np.ndarray] = []
        self.ratio = np.empty(draws)
        self.empty = np.empty(draws, dtype=np.int64)
        self.single = np.empty((draws, m), dtype=np.int64)
        self.pair = np.empty((draws, m, m), dtype=np.int64)
        for t in range(draws):
            s = int(rng.integers(0, m - 1))
            base = np.zeros(m, dtype=bool)
            base[rng.choice(m, size=s, replace=False)] = True
            self.ratio[t] = m * (m - 1) / ((m - s) * (m - s - 1))
            self.single[t] = -1
            self.pair[t] = -1
            self.empty[t] = len(masks)
            masks.append(base)
            free = np.flatnonzero(~base)
            for i in free:
                self.single[t, i] = len(masks)
                masks.append(base | (np.arange(m) == i))
            for i, j in itertools.combinations(free, 2):
                self.pair[t, i, j] = self.pair[t, j, i] = len(masks)
                masks.append(base | (np.arange(m) == i) | (np.arange(m) == j))
        self.masks = np.array(masks, dtype=bool)
        c = len(masks)
        self.valid = self.pair >= 0
        self.single[self.single < 0] = c
        self.pair[self.pair < 0] = c


@functools.cache
def design(m: int, draws: int, seed: int) -> Design:
    return Design(m, draws, seed)


def pair_index(game: Game, x: np.ndarray, draws: int = DEFAULT_DRAWS, seed: int = 0) -> PairIndex:
    """Estimated SII (n, K, M, M) and one standard error per pair, one row per model call."""
    m = game.masking.n_players
    n, k = x.shape[0], game.base.shape[0]
    est = np.zeros((n, k, m, m))
    err = np.zeros((n, k, m, m))
    if m < 2:
        return PairIndex(est, err)
    d = design(m, draws, seed)
    for r in range(n):
        v = game.values(np.ascontiguousarray(x[r : r + 1]), d.masks)[0]  # (C, K)
        v = np.vstack([v, np.zeros((1, k))])  # row C: the padding index
        delta = (
            v[d.pair] - v[d.single][:, :, None, :] - v[d.single][:, None, :, :] + v[d.empty][:, None, None, :]
        )  # (T, M, M, K)
        y = np.where(d.valid[..., None], delta, 0.0) * d.ratio[:, None, None, None]
        est[r] = np.moveaxis(y.mean(axis=0), -1, 0)
        err[r] = np.moveaxis(y.std(axis=0, ddof=1) / np.sqrt(draws), -1, 0)
    diag = np.arange(m)
    est[..., diag, diag] = 0.0
    err[..., diag, diag] = 0.0
    return PairIndex(est, err)
