"""The MLP chain path (``scorers.chains.mlp``) against the model's own predict / predict_proba on every
prefix of every order: several activations and depths, binary, multiclass and regressors, players that
own several encoded columns (a one-hot group), antithetic and unpaired orders, and a ReLU input at
exactly 0.  Then what it refuses, its flop count, and the packaging check (``scorers.chains.choice``)."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest
from sklearn.neighbors import KNeighborsRegressor
from sklearn.neural_network import MLPClassifier, MLPRegressor

from scorers import spaces
from scorers.chains import chain_path, choice
from scorers.chains.mlp import MlpChain
from scorers.masking import GROUPED, RAW
from scorers.permutations import antithetic_orders, chain_masks

GROUP = np.array([0, 0, 1, 2, 2, 2, 3, 4])  # 8 encoded columns, 5 players: two one-hot-like groups
M = 5


def _data(n: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, len(GROUP)))
    x[:, 3:6] = np.eye(3)[rng.integers(0, 3, n)]  # player 2: a one-hot group
    return x


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y)


def _own(model: Any, space: str) -> Any:
    """The model's own output in the space, as the game function computes it."""
    if space == spaces.RAW:
        return lambda h: np.asarray(model.predict(h), dtype=np.float64).reshape(len(h), -1)
    return lambda h: spaces.from_probability(model.predict_proba(h), space)


def _hybrids(x: np.ndarray, bg: np.ndarray, orders: np.ndarray) -> np.ndarray:
    cols = chain_masks(orders)[..., GROUP]
    return np.where(cols, x[None, None, None, :], bg[:, None, None, :])


CASES = {
    "relu (8,) binary probability": (lambda: MLPClassifier((8,), activation="relu"), "binary", "probability"),
    "tanh (6, 4) multiclass log_odds": (
        lambda: MLPClassifier((6, 4), activation="tanh"),
        "multi",
        "log_odds",
    ),
    "logistic (5,) regressor": (
        lambda: MLPRegressor(hidden_layer_sizes=(5,), activation="logistic"),
        "reg",
        "raw",
    ),
    "identity (4, 3, 2) binary log_odds": (
        lambda: MLPClassifier((4, 3, 2), activation="identity"),
        "binary",
        "log_odds",
    ),
    "relu (7, 5) two-output regressor": (
        lambda: MLPRegressor(hidden_layer_sizes=(7, 5), activation="relu"),
        "reg2",
        "raw",
    ),
    "relu (6,) poisson regressor": (
        lambda: MLPRegressor(hidden_layer_sizes=(6,), loss="poisson"),
        "count",
        "raw",
    ),
    "logistic (9,) multiclass probability": (
        lambda: MLPClassifier((9,), activation="logistic"),
        "multi",
        "probability",
    ),
}


def _target(kind: str, x: np.ndarray) -> np.ndarray:
    score = x[:, 0] - x[:, 2] * x[:, 6] + x[:, 4]
    return {
        "binary": (score > 0).astype(int),
        "multi": np.digitize(score, [-0.5, 0.5]),
        "reg": score,
        "reg2": np.stack([score, x[:, 1] * x[:, 7]], axis=1),
        "count": np.exp(0.3 * score).round(),
    }[kind]


@pytest.mark.parametrize("case", list(CASES))
def test_chain_values_equal_the_models_own_outputs_on_every_prefix(case: str) -> None:
    make, kind, space = CASES[case]
    x = _data()
    model = _fit(make().set_params(max_iter=300, random_state=0), x, _target(kind, x))
    path = chain_path(model, space, GROUP, M)
    assert isinstance(path, MlpChain)
    row, bg = _data(3, seed=1), x[:12]
    own = _own(model, space)
    paired = antithetic_orders(len(bg), M, 2, seed=4)
    for orders in (paired, paired[:, :3]):  # antithetic pairs, and an odd number of unpaired orders
        for r in row:
            got = path.values(r, bg, orders, own)
            want = own(_hybrids(r, bg, orders).reshape(-1, len(GROUP))).reshape(got.shape)
            assert got.shape == (len(bg), orders.shape[1], M - 1, want.shape[-1])
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_a_relu_input_at_exactly_zero() -> None:
    """A hybrid whose first hidden unit's pre-activation is exactly 0 (integer weights and rows)."""
    x = _data()
    model = _fit(MLPClassifier((3,), max_iter=50, random_state=0), x, _target("binary", x))
    model.coefs_[0][:] = 0.0
    model.coefs_[0][0, 0], model.coefs_[0][2, 0], model.coefs_[0][7, 0] = 1.0, -1.0, 2.0
    model.intercepts_[0][0] = -1.0
    row = np.array([3.0, 0.0, 2.0, 1.0, 0.0, 0.0, 5.0, 0.0])
    bg = np.array([[1.0, 0.0, 4.0, 0.0, 1.0, 0.0, 2.0, 0.0], [0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 1.0]])
    orders = np.array([[[0, 1, 2, 3, 4], [4, 3, 2, 1, 0]]] * 2, dtype=np.int64)
    hybrids = _hybrids(row, bg, orders).reshape(-1, len(GROUP))
    first = hybrids @ model.coefs_[0] + model.intercepts_[0]
    assert np.any(first[:, 0] == 0.0)  # x0 from the row (3), x2 from the background (4): 3 - 4 + 0 - 1 + 2
    own = _own(model, "log_odds")
    got = MlpChain.build(model, "log_odds", GROUP, M).values(row, bg, orders, own)  # type: ignore[union-attr]
    np.testing.assert_allclose(got.reshape(-1, 2), own(hybrids), rtol=0, atol=1e-12)


def test_heads_and_spaces_without_a_chain_path() -> None:
    x = _data()
    y = _target("binary", x)
    mlp = _fit(MLPClassifier((4,), max_iter=50, random_state=0), x, y)
    assert chain_path(mlp, "raw", GROUP, M) is None  # no decision_function
    multilabel = _fit(MLPClassifier((4,), max_iter=50, random_state=0), x, np.stack([y, 1 - y], axis=1))
    assert chain_path(multilabel, "probability", GROUP, M) is None

    class Mine(MLPClassifier):
        pass

    assert chain_path(_fit(Mine((4,), max_iter=50), x, y), "probability", GROUP, M) is None
    knn = chain_path(_fit(KNeighborsRegressor(3), x, x[:, 0]), "raw", GROUP, M)
    assert knn is not None and knn.name == "numba-chain-knn"  # the registry's next path, not the MLP's
    assert chain_path(mlp, "probability", GROUP[:-1], M) is None  # columns that are not the model's


def test_the_speedup_is_a_flop_count() -> None:
    """14 features, 32 ReLU units, one logistic output: a hybrid row 14 + 2*14*32 + 32 + (32 + 64 + 1)
    flops, a prefix 32 + (32 + 64 + 1)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 14))
    model = _fit(MLPClassifier((32,), max_iter=5, random_state=0), x, x[:, 0] > 0)
    path = chain_path(model, "probability", np.arange(14), 14)
    assert path is not None and path.speedup == pytest.approx(1039 / 129, rel=0, abs=1e-12)


def test_packaging_serves_a_path_only_when_it_matches_the_model_function() -> None:
    x = _data()
    model = _fit(MLPClassifier((8,), max_iter=200, random_state=0), x, _target("binary", x))
    own = _own(model, "probability")
    path, record = choice.choose(model, "probability", GROUPED, GROUP, M, own, x[:40], 1e-10)
    assert path is not None and record["name"] == "numba-chain-mlp" and record["max_abs_diff"] <= 1e-12
    assert record["speedup"] == path.speedup and record["reason"] == ""
    off = choice.choose(model, "probability", GROUPED, GROUP, M, lambda h: own(h) + 1e-6, x[:40], 1e-10)
    assert off[0] is None and off[1]["name"] is None and "differs from the model function" in off[1]["reason"]
    raw = choice.choose(model, "probability", RAW, GROUP, M, own, x[:40], 1e-10)
    assert raw[0] is None and raw[1]["reason"] == "raw masking evaluates the whole pipeline"
    box = choice.choose(None, "probability", GROUPED, GROUP, M, own, x[:40], 1e-10)
    assert box[0] is None and box[1]["reason"] == "the model is a black box"
