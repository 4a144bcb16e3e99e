"""Row-stratified antithetic permutation sampling: the maths of the ``permutation`` scorer.

The interventional game against a weighted background is the weighted sum of one game per background
row b: ``v_b(S) = f(x_S, b_notS)``, from ``v_b(empty) = f(b)`` to ``v_b(full) = f(x)``, and its Shapley
values are the same weighted sum of each row's.  Instead of one coalition design shared by every row
(KernelSHAP: each coalition is averaged over the rows, so the rows' disagreement is paid for in
background rows), every background row gets permutations of its own (IME, Strumbelj and Kononenko
2010, stratified by row): along a permutation the marginal contributions ``v_b(pre + j) - v_b(pre)``
are an unbiased estimate of row b's Shapley values that sums to ``f(x) - f(b)`` exactly, and is exact for
an additive game.  Each row's permutations come in antithetic pairs (a permutation and its reverse),
which cancels the leading error term.  A permutation costs M - 1 model evaluations (its two ends are
``f(b)``, known at fit, and ``f(x)``), so a budget spread this way reaches far more background rows than
a shared design: every training row at the sizes of benchmarks/blackbox.py.

The sampling standard error of a row's estimate comes from the spread of the two halves of each
antithetic pair: ``(A - B) / 2`` has variance ``(var A + var B - 2 cov) / 4``, at least the variance of
the pair's mean ``(A + B) / 2`` whenever the reverse permutation is not positively correlated with the
forward one, so the stated error is conservative (benchmarks/blackbox.py measures how much).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def antithetic_orders(n_rows: int, n_players: int, pairs: int, seed: int) -> IntArray:
    """(n_rows, 2 * pairs, M): per background row, ``pairs`` random permutations each followed by its
    reverse."""
    rng = np.random.default_rng(seed)
    forward = np.argsort(rng.random((n_rows, pairs, n_players)), axis=-1)
    both = np.stack([forward, forward[..., ::-1]], axis=2)  # (n_rows, pairs, 2, M)
    return both.reshape(n_rows, 2 * pairs, n_players).astype(np.int64)


def latin_orders(n_rows: int, n_players: int, pairs: int, seed: int) -> IntArray:
    """(n_rows, 2 * pairs, M): like ``antithetic_orders``, but stratified across background rows.

    The rows go in blocks of M; in a block, every row's forward permutation is one random order ``sigma``
    rotated by the row's place in the block (a cyclic Latin square: each player sits in each position
    exactly once across the block), then reversed for its antithetic partner.  Each row's permutation
    is still uniformly distributed (a fixed rotation of a uniform order), so every row's estimate stays
    unbiased; only the joint draw across rows is balanced.  A fresh ``sigma`` per block and per pair."""
    rng = np.random.default_rng(seed)
    m = n_players
    blocks = -(-n_rows // m)
    sigma = np.argsort(rng.random((blocks, pairs, m)), axis=-1)  # (blocks, pairs, M)
    shift = np.arange(blocks * m) % m  # each row's place in its block
    positions = (np.arange(m)[None, :] + shift[:, None]) % m  # (rows, M): the rotated positions
    block = np.arange(blocks * m) // m
    forward = np.take_along_axis(sigma[block], positions[:, None, :], axis=-1)[:n_rows]
    both = np.stack([forward, forward[..., ::-1]], axis=2)  # (n_rows, pairs, 2, M)
    return both.reshape(n_rows, 2 * pairs, m).astype(np.int64)


ORDERS = {"antithetic": antithetic_orders, "latin": latin_orders}  # the permutation scorer's ``orders``


def chain_masks(orders: IntArray) -> BoolArray:
    """The proper, non-empty prefixes of each permutation: (R, P, M) -> (R, P, M - 1, M).

    Prefix t holds the first t + 1 players of the order."""
    m = orders.shape[-1]
    rank = np.argsort(orders, axis=-1)  # rank[j] = position of player j in the order
    steps = np.arange(m - 1)[:, None]  # prefix t covers positions 0..t
    return rank[:, :, None, :] <= steps[None, None, :, :]


def contributions(ranks: IntArray, chain: FloatArray, at_rows: FloatArray, at_x: FloatArray) -> FloatArray:
    """Marginal contributions of each permutation, per player.

    ``ranks`` (R, P, M) each player's position in its permutation (``np.argsort`` of the order); ``chain``
    (R, P, M - 1, K) the values at the prefixes; ``at_rows`` (R, K) each row's own value (the empty
    coalition); ``at_x`` (K,) the full coalition -> (R, P, K, M), a view of a C-ordered (R, P, M, K)
    array (``row_estimates`` reads it in that order).
    """
    r, p, m = ranks.shape
    k = at_x.shape[-1]
    steps = np.empty((r, p, m, k))  # the step at position t belongs to the order's t-th player
    np.subtract(chain[:, :, 0], at_rows[:, None, :], out=steps[:, :, 0])
    np.subtract(chain[:, :, 1:], chain[:, :, :-1], out=steps[:, :, 1 : m - 1])
    np.subtract(at_x, chain[:, :, -1], out=steps[:, :, m - 1])
    # player j's step sits at rank[j] of its own permutation: flat indices into (R * P * M) steps
    flat = (np.arange(r * p)[:, None] * m + ranks.reshape(r * p, m)).ravel()
    per_player = steps.reshape(-1, k)[flat].reshape(r, p, m, k)
    return np.swapaxes(per_player, 2, 3)


def row_estimates(per_permutation: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each row's estimate (mean of its permutations) and that mean's sampling variance:
    (R, P, K, M) -> ((R, K, M), (R, K, M)).

    With two antithetic pairs or more per row, the variance of the pair means (unbiased).  With one pair,
    only the half-difference ``((a - b) / 2)^2`` is there: it estimates ``sigma^2 (1 - rho) / 2`` where the
    pair mean's variance is ``sigma^2 (1 + rho) / 2``, so it overstates it by ``(1 - rho) / (1 + rho)``
    wherever the antithetic halves are negatively correlated (rho < 0, what they are drawn for)."""
    per = np.swapaxes(per_permutation, 2, 3)  # (R, P, M, K): contiguous when from ``contributions``
    r, p, m, k = per.shape
    n_pairs = p // 2
    pairs = per.reshape(r, n_pairs, 2, m, k)
    if n_pairs >= 2:
        means = (pairs[:, :, 0] + pairs[:, :, 1]) * 0.5  # (R, pairs, M, K)
        est = means.mean(axis=1)
        var = np.var(means, axis=1, ddof=1) / n_pairs
    else:
        half = (pairs[:, :, 0] - pairs[:, :, 1]) / 2.0  # (R, pairs, M, K)
        est = per.mean(axis=1)
        var = np.mean(half**2, axis=1) / n_pairs
    return np.swapaxes(est, 1, 2), np.swapaxes(var, 1, 2)
