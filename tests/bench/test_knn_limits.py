"""benchmarks/knn_limits.py's lookup estimators against the brute-force oracle: its exact Shapley values of
a game given on every coalition, and its permutation chains (every order averaged is exact; an antithetic
pair is exact on a pairwise game and not on a game with a three-way term; the oracle control variate's
estimate is unbiased)."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
from scorer_support import shapley_oracle

from benchmarks.knn_limits import antithetic, chains, draws, half_shift, independent, shapley

M = 5


def _model(x: np.ndarray) -> np.ndarray:
    """A small game with pairwise and three-way terms and a threshold (a KNN-like jump)."""
    return (
        x[:, 0] * x[:, 1]
        + np.sin(x[:, 2])
        + x[:, 1] * x[:, 3] * x[:, 4]
        + (x[:, 0] + x[:, 4] > 0.3).astype(float)
    )


def _games(row: np.ndarray, bg: np.ndarray, f=_model) -> np.ndarray:
    codes = np.arange(2**M)
    masks = ((codes[:, None] >> np.arange(M)) & 1).astype(bool)
    hyb = np.where(masks[:, None, :], row[None, None, :], bg[None, :, :]).reshape(-1, M)
    return f(hyb).reshape(2**M, len(bg)).T  # (B, 2^M)


def test_shapley_of_the_mean_game_is_the_oracle() -> None:
    rng = np.random.default_rng(0)
    bg, row = rng.normal(size=(7, M)), rng.normal(size=M)
    frame = lambda d: pd.DataFrame(d, columns=[f"f{i}" for i in range(M)])  # noqa: E731
    phi, _, _ = shapley_oracle(
        lambda d: _model(np.asarray(d, dtype=float))[:, None], frame(bg), np.full(7, 1 / 7), frame(row[None])
    )
    g = _games(row, bg)
    np.testing.assert_allclose(shapley(g.mean(axis=0)), phi[0, 0], atol=1e-12)
    assert np.isclose(shapley(g.mean(axis=0)).sum(), g[:, -1].mean() - g[:, 0].mean())


def test_every_order_averaged_is_exact_and_antithetic_is_exact_only_up_to_pairs() -> None:
    rng = np.random.default_rng(1)
    bg, row = rng.normal(size=(3, M)), rng.normal(size=M)
    g = _games(row, bg)
    orders = [np.tile(np.array(p), (len(bg), 1)) for p in itertools.permutations(range(M))]
    np.testing.assert_allclose(chains(g, orders), shapley(g), atol=1e-12)
    pairwise = _games(row, bg, lambda x: x[:, 0] * x[:, 1] + 2 * x[:, 2] - x[:, 3] * x[:, 4])
    for orders in (antithetic(1)(rng, len(bg), M), antithetic(2)(rng, len(bg), M)):
        np.testing.assert_allclose(chains(pairwise, orders), shapley(pairwise), atol=1e-12)
    # the three-way term and the jump are not exact on one pair for some order, and every draw is efficient
    errs = []
    for _ in range(20):
        for orders in (
            antithetic(1)(rng, len(bg), M),
            independent(rng, len(bg), M),
            half_shift(rng, len(bg), M),
        ):
            est = chains(g, orders)
            np.testing.assert_allclose(est.sum(axis=1), g[:, -1] - g[:, 0], atol=1e-12)
            errs.append(np.max(np.abs(est - shapley(g))))
    assert max(errs) > 1e-3


def test_the_oracle_control_variate_leaves_only_the_rows_own_part() -> None:
    rng = np.random.default_rng(2)
    row = rng.normal(size=M)
    same = np.tile(rng.normal(size=(1, M)), (6, 1))  # every background row alike: g_b = v, no residual
    g = _games(row, same)[None]
    truth = shapley(g.mean(axis=1))
    assert max(draws(g, truth, antithetic(1), 10, seed=0, oracle_cv=True)) < 1e-12
    assert max(draws(g, truth, antithetic(1), 10, seed=0)) > 1e-3
    # on background rows that differ, its estimate averages to the truth (unbiased)
    bg = rng.normal(size=(6, M))
    g = _games(row, bg)
    truth = shapley(g.mean(axis=0))
    est = np.mean(
        [truth + chains(g - g.mean(axis=0), antithetic(1)(rng, 6, M)).mean(axis=0) for _ in range(3000)],
        axis=0,
    )
    np.testing.assert_allclose(est, truth, atol=0.02)
