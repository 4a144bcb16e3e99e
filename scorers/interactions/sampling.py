"""Estimated pairwise SII for models with many players: every pair from each sampled coalition.

The SII weight of a coalition of size s is ``s! (M-2-s)! / (M-1)! = integral_0^1 t^s (1-t)^(M-2-s) dt``,
so SII_ij = integral_0^1 E[D_ij(T)] dt with T holding each other player independently with
probability t.  The integrand is a polynomial of degree M-2 in t: Gauss-Legendre with ceil((M-1)/2)
nodes integrates it exactly, and only the expectation at each node is sampled.  A draw S (each of the
M players in with probability t) gives every pair its own sample, T = S less i and j (distributed as
required, whether or not S held i or j), with v on S and on S with one or two players flipped:
1 + M + M(M-1)/2 coalitions per draw.

    SII_ij ~ sum_q w_q mean_{draws at node q} D_ij(S less i, j),

unbiased, with its standard error ``sqrt(sum_q w_q^2 var_q / n)`` stated per pair.  The draws are
seeded: a row's values do not depend on the request it comes in.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np

from ..masking import Game
from .values import PairIndex

DRAWS_PER_NODE = 8


class Design:
    """masks (C, M), then per draw t: its node (T,), the row of v(S_t) (T,), of S_t with player i
    flipped (T, M) and with i and j flipped (T, M, M); the drawn S_t (T, M) and the node weights."""

    def __init__(self, m: int, per_node: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        nodes, weights = np.polynomial.legendre.leggauss(max(1, m // 2))  # ceil((M-1)/2) nodes
        self.node_weights = weights / 2.0
        draws = len(nodes) * per_node
        self.node = np.repeat(np.arange(len(nodes)), per_node)
        self.drawn = rng.random((draws, m)) < ((nodes + 1.0) / 2.0)[self.node][:, None]
        eye = np.eye(m, dtype=bool)
        masks: list[np.ndarray] = []
        self.same = np.empty(draws, dtype=np.int64)
        self.one = np.empty((draws, m), dtype=np.int64)
        self.two = np.zeros((draws, m, m), dtype=np.int64)
        for t, s in enumerate(self.drawn):
            self.same[t] = len(masks)
            masks.append(s)
            self.one[t] = len(masks) + np.arange(m)
            masks.extend(s ^ eye)
            for i, j in itertools.combinations(range(m), 2):
                self.two[t, i, j] = self.two[t, j, i] = len(masks)
                masks.append(s ^ eye[i] ^ eye[j])
        self.masks = np.array(masks, dtype=bool)

    def index(self, flip_i: np.ndarray, flip_j: np.ndarray) -> np.ndarray:
        """(T, M, M) row of v on S_t with i flipped where ``flip_i`` and j where ``flip_j``."""
        one_i = np.broadcast_to(self.one[:, :, None], flip_i.shape)
        one_j = np.broadcast_to(self.one[:, None, :], flip_i.shape)
        same = np.broadcast_to(self.same[:, None, None], flip_i.shape)
        return np.where(flip_i & flip_j, self.two, np.where(flip_i, one_i, np.where(flip_j, one_j, same)))


@functools.cache
def design(m: int, per_node: int, seed: int) -> Design:
    return Design(m, per_node, seed)


def pair_index(game: Game, x: np.ndarray, per_node: int = DRAWS_PER_NODE, seed: int = 0) -> PairIndex:
    """Estimated SII (n, K, M, M) and one standard error per pair, one row per model call."""
    m = game.masking.n_players
    n, k = x.shape[0], game.base.shape[0]
    est = np.zeros((n, k, m, m))
    err = np.zeros((n, k, m, m))
    if m < 2:
        return PairIndex(est, err)
    d = design(m, per_node, seed)
    in_i = np.broadcast_to(d.drawn[:, :, None], d.two.shape)
    in_j = np.broadcast_to(d.drawn[:, None, :], d.two.shape)
    # T = S less i, j: T+i+j flips the absent ones, T the present ones, T+i / T+j one of each
    rows = [d.index(~in_i, ~in_j), d.index(~in_i, in_j), d.index(in_i, ~in_j), d.index(in_i, in_j)]
    n_nodes = len(d.node_weights)
    for r in range(n):
        v = game.values(np.ascontiguousarray(x[r : r + 1]), d.masks)[0]  # (C, K)
        delta = v[rows[0]] - v[rows[1]] - v[rows[2]] + v[rows[3]]  # (T, M, M, K)
        by_node = delta.reshape(n_nodes, -1, m, m, k)
        mean = np.einsum("q,qijk->kij", d.node_weights, by_node.mean(axis=1))
        var = np.einsum("q,qijk->kij", d.node_weights**2, by_node.var(axis=1, ddof=1) / by_node.shape[1])
        est[r], err[r] = mean, np.sqrt(var)
    diag = np.arange(m)
    est[..., diag, diag] = 0.0
    err[..., diag, diag] = 0.0
    return PairIndex(est, err)
