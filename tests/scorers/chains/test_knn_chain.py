"""The KNN chain path (``scorers.chains.knn``) against oracles: every prefix value equals the model's own
predict / predict_proba (in the scorer's space) on that hybrid row, for the regressor and the classifier,
each metric, and one-hot column groups (several columns per player); an exact tie at the k-th neighbour
goes to the fallback, and only that hybrid; unsupported heads build no path; and the permutation
estimates made from the chain values (``scorers.permutations``, as the scorer makes them) are unbiased
against brute-force Shapley values over all coalitions, and additive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import shapley_oracle
from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from scorers import spaces
from scorers.chains.knn import KnnChain
from scorers.permutations import antithetic_orders, chain_masks, contributions, row_estimates

Fn = Callable[[np.ndarray], np.ndarray]
METRICS: dict[str, dict[str, Any]] = {
    "euclidean": {},
    "manhattan": {"metric": "manhattan"},
    "minkowski p=3": {"p": 3},
    "minkowski p=1.5": {"metric": "minkowski", "p": 1.5},
}


def _output(model: Any, space: str) -> Fn:
    """The model's own output in ``space``, (n, d) -> (n, K), as the scorer's game function gives it."""
    if isinstance(model, KNeighborsRegressor):
        return lambda a: np.asarray(model.predict(a), dtype=np.float64).reshape(len(a), -1)
    return lambda a: spaces.from_probability(np.asarray(model.predict_proba(a), dtype=np.float64), space)


class Counting:
    """A fallback that records the hybrids it was given."""

    def __init__(self, fn: Fn) -> None:
        self.fn = fn
        self.rows: list[np.ndarray] = []

    def __call__(self, a: np.ndarray) -> np.ndarray:
        self.rows.extend(np.asarray(a))
        return self.fn(a)


def _hybrids(x: np.ndarray, bg: np.ndarray, orders: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Every prefix hybrid of every order, built directly: (R, P, M - 1, d)."""
    masks = chain_masks(orders)[..., group]
    return np.where(masks, x[None, None, None, :], bg[:, None, None, :])


def _check_every_prefix(
    path: KnnChain, model_fn: Fn, x: np.ndarray, bg: np.ndarray, group: np.ndarray
) -> Counting:
    m = int(group.max()) + 1
    fallback = Counting(model_fn)
    antithetic = antithetic_orders(len(bg), m, 2, seed=3)
    odd = np.argsort(np.random.default_rng(4).random((len(bg), 3, m)), axis=-1)  # P = 3, not paired
    for orders in (antithetic, odd):
        got = path.values(x, bg, orders, fallback)
        hybrids = _hybrids(x, bg, orders, group)
        want = model_fn(hybrids.reshape(-1, len(group))).reshape(got.shape)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    return fallback


def _continuous(seed: int, n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d))
    y = np.sin(x[:, 0]) + x[:, 1] * x[:, 2] + 0.3 * rng.normal(size=n)
    return x, y, (y > np.median(y)).astype(int) + (y > np.quantile(y, 0.8)).astype(int)  # 3 classes


@pytest.mark.parametrize("metric", list(METRICS))
@pytest.mark.parametrize(
    ("task", "space"), [("regressor", "raw"), ("classifier", "probability"), ("classifier", "log_odds")]
)
def test_every_prefix_equals_the_models_own_output(metric: str, task: str, space: str) -> None:
    x, y, labels = _continuous(0, 160, 6)
    if task == "regressor":
        model = KNeighborsRegressor(7, algorithm="brute", **METRICS[metric]).fit(x[:140], y[:140])
    else:
        model = KNeighborsClassifier(5, **METRICS[metric]).fit(x[:140], labels[:140])
    group = np.arange(6)
    path = KnnChain.build(model, space, group, 6)
    assert path is not None and path.name == "numba-chain-knn"
    fallback = _check_every_prefix(path, _output(model, space), x[150], x[140:150], group)
    assert len(fallback.rows) == 0  # continuous rows: no tie


def test_a_multi_output_regressor_gives_each_output() -> None:
    x, y, _ = _continuous(5, 90, 4)
    model = KNeighborsRegressor(5).fit(x[:70], np.column_stack([y[:70], x[:70, 0] * x[:70, 3]]))
    path = KnnChain.build(model, "raw", np.arange(4), 4)
    assert path is not None
    fallback = _check_every_prefix(
        path, lambda a: np.asarray(model.predict(a)), x[80], x[70:80], np.arange(4)
    )
    assert len(fallback.rows) == 0


@pytest.mark.parametrize(("n_train", "k"), [(8, 6), (4, 3), (30, 1)])
def test_a_training_set_barely_larger_than_k(n_train: int, k: int) -> None:
    """Fewer reserve rows than ``_knn_kernel.RESERVE`` (n_train - k of them: 2 and 1), and k = 1 (a set of one row):
    every prefix still equals the model."""
    x, y, labels = _continuous(6, n_train + 12, 5)
    group = np.arange(5)
    for model, space in (
        (KNeighborsRegressor(k).fit(x[:n_train], y[:n_train]), "raw"),
        (KNeighborsClassifier(k, p=3).fit(x[:n_train], labels[:n_train]), "probability"),
    ):
        path = KnnChain.build(model, space, group, 5)
        assert path is not None
        fallback = _check_every_prefix(path, _output(model, space), x[-1], x[n_train:-1], group)
        assert len(fallback.rows) == 0


def test_one_hot_groups_several_columns_per_player() -> None:
    """Encoded columns: a 3-level one-hot (player 0), two numbers (players 1, 2), a 2-level one-hot
    (player 3) and two numbers of one player (4).  One-hot distances are 0 or 2 exactly, so exact ties
    happen and go to the fallback; every prefix still equals the model."""
    rng = np.random.default_rng(1)
    n = 150
    level = rng.integers(0, 3, n)
    flag = rng.integers(0, 2, n)
    num = rng.normal(size=(n, 4))
    enc = np.column_stack([np.eye(3)[level], num[:, :2], np.eye(2)[flag], num[:, 2:]])
    group = np.array([0, 0, 0, 1, 2, 3, 3, 4, 4])
    y = level * 1.5 - flag + num[:, 0] * num[:, 3]
    for model, space in (
        (KNeighborsRegressor(6).fit(enc[:120], y[:120]), "raw"),
        (KNeighborsClassifier(4, metric="manhattan").fit(enc[:120], (y[:120] > 0).astype(int)), "log_odds"),
    ):
        path = KnnChain.build(model, space, group, 5)
        assert path is not None
        _check_every_prefix(path, _output(model, space), enc[140], enc[120:132], group)


@pytest.mark.parametrize("task", ["regressor", "classifier"])
def test_an_exact_tie_at_the_kth_neighbour_goes_to_the_fallback_only(task: str) -> None:
    """k = 1; the hybrid (x0, b1) = (1, 0) is at distance 1 from (0, 0) and (2, 0), which have different
    targets: which one is the neighbour is the model's choice, so that hybrid, and no other (the other
    hybrids on x0 = 1 are nearer (1, -4) or (1, 4)), is the fallback's."""
    train = np.array([[0.0, 0.0], [2.0, 0.0], [9.0, 9.0], [1.0, -4.0], [1.0, 4.0]])
    if task == "regressor":
        model: Any = KNeighborsRegressor(1, algorithm="brute").fit(train, [0.0, 1.0, 5.0, 7.0, 3.0])
        space = "raw"
    else:
        model = KNeighborsClassifier(1, algorithm="brute").fit(train, [0, 1, 1, 0, 2])
        space = "probability"
    path = KnnChain.build(model, space, np.arange(2), 2)
    assert path is not None
    x = np.array([1.0, 5.0])
    bg = np.array([[7.0, 0.0], [1.0, -3.0], [4.0, 2.0]])
    orders = np.array([[[0, 1], [1, 0]]] * 3, dtype=np.int64)  # row 0's first prefix is {x0}: (1, 0)
    fallback = Counting(_output(model, space))
    got = path.values(x, bg, orders, fallback)
    assert [r.tolist() for r in fallback.rows] == [[1.0, 0.0]]
    want = _output(model, space)(_hybrids(x, bg, orders, np.arange(2)).reshape(-1, 2))
    np.testing.assert_array_equal(got.reshape(want.shape), want)


def test_unsupported_heads_build_no_path() -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    x, y, labels = _continuous(2, 60, 4)
    group = np.arange(4)
    unsupported = [
        (KNeighborsRegressor(5, weights="distance").fit(x, y), "raw"),
        (KNeighborsRegressor(5, metric="chebyshev").fit(x, y), "raw"),
        (KNeighborsRegressor(5, metric="cosine", algorithm="brute").fit(x, y), "raw"),
        (KNeighborsRegressor(5, metric="minkowski", metric_params={"w": np.ones(4)}).fit(x, y), "raw"),
        (KNeighborsRegressor(5, metric=lambda a, b: float(np.abs(a - b).sum())).fit(x, y), "raw"),
        (KNeighborsRegressor(5).fit(x, y), "probability"),  # a regressor has no probabilities
        (KNeighborsClassifier(5).fit(x, labels), "raw"),  # a KNN classifier has no margin
        (KNeighborsClassifier(5).fit(x, np.column_stack([labels, labels])), "probability"),  # multi-output
        (make_pipeline(StandardScaler(), KNeighborsRegressor(5)).fit(x, y), "raw"),  # not the head
        (KNeighborsRegressor(60).fit(x, y), "raw"),  # every row a neighbour
    ]
    for head, space in unsupported:
        assert KnnChain.build(head, space, group, 4) is None, (head, space)
    plain = KNeighborsRegressor(5).fit(x, y)
    assert KnnChain.build(plain, "raw", np.arange(3), 3) is None  # 3 columns for a 4-column head
    assert KnnChain.build(plain, "raw", group, 3) is None  # a column of a 4th player among 3
    path = KnnChain.build(plain, "raw", group, 4)
    assert path is not None and path.speedup > 1.0 and path.speedup == path.speedup
    path.warm_up()  # compiles (or finds compiled) the kernel on a toy problem of the head's shapes


def test_a_non_finite_row_is_the_models_answer_on_every_hybrid() -> None:
    x, y, _ = _continuous(3, 50, 3)
    model = KNeighborsRegressor(3).fit(x[:40], y[:40])
    path = KnnChain.build(model, "raw", np.arange(3), 3)
    assert path is not None
    row = np.array([np.nan, 0.0, 1.0])
    orders = antithetic_orders(4, 3, 1, seed=0)
    seen = Counting(lambda a: np.full((len(a), 1), 7.0))
    got = path.values(row, x[40:44], orders, seen)
    assert len(seen.rows) == got[..., 0].size and np.all(got == 7.0)


def test_permutation_estimates_from_the_chain_are_unbiased_and_additive() -> None:
    """A 5-feature KNN regressor, 10 background rows: the scorer's estimate (each row's antithetic pair,
    ``contributions`` and ``row_estimates`` on the chain values, then the weighted mean) over 300 seeds
    against brute-force Shapley values over all 32 coalitions."""
    x, y, _ = _continuous(4, 70, 5)
    model = KNeighborsRegressor(4, algorithm="brute").fit(x[:50], y[:50])
    fn = _output(model, "raw")
    bg, row = x[50:60], x[65]
    path = KnnChain.build(model, "raw", np.arange(5), 5)
    assert path is not None
    names = [f"f{i}" for i in range(5)]
    truth = shapley_oracle(
        lambda frame: fn(frame.to_numpy(dtype=np.float64)),
        pd.DataFrame(bg, columns=names),
        np.full(len(bg), 1.0 / len(bg)),
        pd.DataFrame(row[None], columns=names),
    )[0][0]  # (K, M)
    at_rows, fx = fn(bg), fn(row[None])[0]
    draws = []
    for seed in range(300):
        orders = antithetic_orders(len(bg), 5, 1, seed)
        chain = path.values(row, bg, orders, fn)
        est, _ = row_estimates(contributions(np.argsort(orders, axis=-1), chain, at_rows, fx))
        phi = est.mean(axis=0)  # equal weights
        np.testing.assert_allclose(phi.sum(axis=-1), fx - at_rows.mean(axis=0), rtol=0, atol=1e-6)
        draws.append(phi)
    draws_arr = np.array(draws)
    se = draws_arr.std(axis=0, ddof=1) / np.sqrt(len(draws_arr))
    assert np.all(np.abs(draws_arr.mean(axis=0) - truth) <= 4 * se + 1e-12)
    assert float(np.abs(draws_arr[0] - truth).max()) > 1e-6  # one draw is an estimate, not the truth
