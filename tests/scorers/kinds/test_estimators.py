"""Every black-box estimator against the brute-force oracle (issue 24): exact on additive games, additive
to 1e-6 whatever the game, unbiased or convergent on a small nonlinear model, and the ``permutation``
scorer's standard errors cover the oracle; packaging chooses between ``kernel`` and ``permutation`` by
measured error and records both."""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_model, held_out_rows, oracle_for, shapley_oracle

import scorers
from scorers.sampled_designs import leverage_design, msr_design, paired_kernel_design
from scorers.shapley import CoalitionDesign, kernel_design

M = 7
DESIGNS: dict[str, Callable[[int, int, int], CoalitionDesign]] = {
    "kernel (served)": kernel_design,
    "paired kernel": paired_kernel_design,
    "leverage": leverage_design,
    "msr": msr_design,
}


@functools.cache
def _game(additive: bool) -> tuple[Callable[[pd.DataFrame], np.ndarray], pd.DataFrame, pd.DataFrame]:
    """A 7-feature function (additive, or with interactions and a saturation), 12 background rows and
    4 rows to explain."""
    rng = np.random.default_rng(5)
    a = rng.normal(size=M)

    def f(frame: pd.DataFrame) -> np.ndarray:
        x = frame.to_numpy(dtype=np.float64)
        out = x @ a + 0.2
        if not additive:
            out = np.tanh(out) + 0.8 * x[:, 0] * x[:, 1] - 0.5 * np.abs(x[:, 2] * x[:, 3] * x[:, 4])
        return out[:, None]

    cols = [f"x{j}" for j in range(M)]
    return (
        f,
        pd.DataFrame(rng.normal(size=(12, M)), columns=cols),
        pd.DataFrame(rng.normal(size=(4, M)), columns=cols),
    )


def _estimate(design: CoalitionDesign, additive: bool) -> tuple[np.ndarray, np.ndarray]:
    """The design's values on the game's rows, from its own coalition values (n, M), and f(x) - base."""
    f, bg, rows = _game(additive)
    base = f(bg).mean()
    out = []
    for i in range(len(rows)):
        x = rows.iloc[i].to_numpy()
        hyb = np.where(design.masks[:, None, :], x[None, None, :], bg.to_numpy()[None])
        v = (
            f(pd.DataFrame(hyb.reshape(-1, M), columns=bg.columns))
            .reshape(len(design.masks), len(bg))
            .mean(1)
        )
        fx = f(rows.iloc[i : i + 1])[0, 0]
        out.append(design.projection @ (v - base) + design.full_weight * (fx - base))
    return np.array(out), f(rows)[:, 0] - base


@functools.cache
def _oracle(additive: bool) -> np.ndarray:
    f, bg, rows = _game(additive)
    return shapley_oracle(f, bg, np.ones(len(bg)), rows)[0][:, 0]


@pytest.mark.parametrize("name", DESIGNS)
def test_each_design_is_exact_on_an_additive_game_and_additive(name: str) -> None:
    design = DESIGNS[name](M, 40, 3)
    assert not design.exact and len(design.masks) < 2**M - 2  # sampled, not enumerated
    phi, delta = _estimate(design, additive=True)
    np.testing.assert_allclose(phi, _oracle(True), rtol=0, atol=1e-9)
    phi, delta = _estimate(design, additive=False)
    np.testing.assert_allclose(phi.sum(axis=1), delta, rtol=0, atol=1e-6)
    assert np.max(np.abs(phi - _oracle(False))) > 1e-6  # the nonlinear game is estimated, not exact


@pytest.mark.parametrize("name", DESIGNS)
def test_each_design_converges_to_the_oracle(name: str) -> None:
    """Mean absolute error over seeds: a design of 100 coalitions is at most half as far from the oracle as
    one of 16 (measured ratios 0.07-0.24)."""
    truth = _oracle(False)

    def error(n: int) -> float:
        return float(
            np.mean([np.abs(_estimate(DESIGNS[name](M, n, s), False)[0] - truth).mean() for s in range(6)])
        )

    assert error(100) < 0.5 * error(16)


def test_the_linear_regression_adjustment_of_msr_vanishes() -> None:
    """With the linear family fitted by the kernel-weighted solve on the same draws, each draw's MSR term
    is proportional to its kernel-weighted residual times (M z - |S|), which the solve's normal equations
    make constant over the players, and the term sums to zero: MSR-linear is Leverage SHAP exactly."""
    msr, lev = msr_design(M, 60, 1), leverage_design(M, 60, 1)
    np.testing.assert_array_equal(msr.masks, lev.masks)
    np.testing.assert_allclose(msr.projection, lev.projection, rtol=0, atol=1e-9)
    np.testing.assert_allclose(msr.full_weight, lev.full_weight, rtol=0, atol=1e-9)


# -- the permutation scorer ---------------------------------------------------------------------------
@functools.cache
def _permutation() -> tuple[scorers.ScoringExplainer, pd.DataFrame, np.ndarray]:
    model = fitted_model("mlp", "binary")
    explainer = scorers.fit(model, dataset("binary")[0], scorer="permutation", eval_size=5)
    rows = held_out_rows("exact-mlp", n=4)
    return explainer, rows, oracle_for(explainer, model, rows, as_array=True)[0]


@pytest.mark.parametrize("orders", ["antithetic", "latin"])
def test_permutation_is_unbiased_and_its_standard_errors_cover_the_oracle(orders: str) -> None:
    explainer, rows, truth = _permutation()
    assert explainer.scorer.name == "permutation" and len(explainer.background.weights) > 20
    x = explainer.masking.encode(rows)
    fitted = explainer.scorer._check_fitted()
    scorer = type(explainer.scorer)
    runs = [scorer(pairs=1, seed=s, orders=orders).fit(fitted).shap_values_with_se(x) for s in range(24)]
    values = np.stack([r[0] for r in runs])  # (seeds, n, K, M)
    one = float(np.mean(np.abs(values - truth)))
    assert one > 1e-6  # sampled
    # unbiased: the mean of 24 independent estimates is ~1/sqrt(24) as far (measured 0.25x)
    assert float(np.mean(np.abs(values.mean(axis=0) - truth))) < 0.4 * one
    for phi, fx, _ in runs:
        np.testing.assert_allclose(phi.sum(axis=-1), fx - explainer.scorer.base_values, rtol=0, atol=1e-6)
    se = np.stack([r[2] for r in runs])
    assert float(np.mean(np.abs(values - truth) <= 2 * se)) >= 0.9
    # max_error's refinement (scorers.errorbars.refine) grows the permutations per row: 8x as many pairs
    from scorers.errorbars.refine import _larger

    served = scorer(seed=0, orders=orders).fit(fitted)
    bigger = _larger(served, 8 * served.n_coalitions)
    assert bigger.params["pairs"] == 8 * served.params["pairs"] and bigger.params["orders"] == orders
    assert float(np.mean(np.abs(bigger.shap_values(x)[0] - truth))) < 0.6 * one


def test_latin_orders_put_every_player_in_every_position_once_per_block() -> None:
    from scorers.permutations import latin_orders

    m, rows, pairs = 5, 13, 2  # two full blocks of 5 rows and a partial one
    orders = latin_orders(rows, m, pairs, seed=3)
    assert orders.shape == (rows, 2 * pairs, m)
    np.testing.assert_array_equal(np.sort(orders, axis=-1), np.broadcast_to(np.arange(m), orders.shape))
    np.testing.assert_array_equal(orders[:, 1::2], orders[:, 0::2, ::-1])  # each pair: an order, reversed
    for block in (slice(0, 5), slice(5, 10)):
        for p in range(pairs):
            positions = np.argsort(orders[block, 2 * p], axis=-1)  # (rows of the block, players)
            np.testing.assert_array_equal(np.sort(positions, axis=0), np.tile(np.arange(m)[:, None], (1, m)))
    assert not np.array_equal(orders[0:5, 0], orders[5:10, 0])  # a fresh order per block
    with pytest.raises(scorers.InputError, match="orders"):
        type(_permutation()[0].scorer)(orders="sobol")


class _LessAdditive:
    """A model less an additive (linear) surrogate g: the residual game f - g as a black box."""

    def __init__(self, model: object, coef: np.ndarray, intercept: float) -> None:
        self.model, self.coef, self.intercept = model, coef, intercept

    def predict(self, x: object) -> np.ndarray:
        a = np.asarray(x, dtype=np.float64)
        return np.asarray(self.model.predict(a)) - (a @ self.coef + self.intercept)  # type: ignore[attr-defined]


def test_an_additive_control_variate_changes_no_permutation_estimate() -> None:
    """Why the permutation scorer has no additive surrogate: along any permutation an additive game's
    marginal contribution of j is exactly h_j(x_j) - h_j(b_j), its Shapley value, so the residual f - g
    estimated with the same permutations, plus g's exact values, is f's own estimate (benchmarks/
    permutation_orders.py measures it on the benchmark's models)."""
    from sklearn.linear_model import LinearRegression

    frame, _ = dataset("regression")
    model = fitted_model("svr", "regression")
    g = LinearRegression().fit(frame.to_numpy(), model.predict(frame.to_numpy()))
    options = {"scorer": "permutation", "eval_size": 5, "onnx": False}
    plain = scorers.fit(model, frame, **options)
    residual = scorers.fit(_LessAdditive(model, g.coef_, g.intercept_), frame, task="regressor", **options)
    rows = frame.iloc[-4:].reset_index(drop=True)
    bg = plain.background
    np.testing.assert_array_equal(residual.background.encoded, bg.encoded)  # the same rows and permutations
    exact_g = g.coef_ * (rows.to_numpy() - bg.weights @ bg.encoded / bg.weights.sum())  # g's Shapley values
    values = np.asarray(plain.explain(rows).values).reshape(exact_g.shape)
    assert float(np.abs(values - exact_g).max()) > 1e-2  # the model is not additive
    np.testing.assert_allclose(
        np.asarray(residual.explain(rows).values).reshape(exact_g.shape) + exact_g, values, rtol=0, atol=1e-9
    )
    truth = oracle_for(plain, model, rows, as_array=True)[0].reshape(exact_g.shape)
    assert (
        float(np.abs(values - truth).max()) > 1e-6
    )  # and the estimate is sampled: the identity is not exactness


def test_permutation_is_exact_on_an_additive_model() -> None:
    from sklearn.linear_model import Ridge

    frame, _ = dataset("regression")
    model = Ridge().fit(frame.to_numpy(), frame.to_numpy() @ np.linspace(-1, 1, 5))
    explainer = scorers.fit(model, frame, scorer="permutation", eval_size=5)
    rows = frame.iloc[:4].reset_index(drop=True)
    truth = oracle_for(explainer, model, rows, as_array=True)[0]
    np.testing.assert_allclose(explainer.explain(rows).values, truth, rtol=0, atol=1e-9)
    latin = type(explainer.scorer)(orders="latin").fit(explainer.scorer._check_fitted())
    values = latin.shap_values(explainer.masking.encode(rows))[0]
    np.testing.assert_allclose(values.reshape(truth.shape), truth, rtol=0, atol=1e-9)


def test_packaging_chooses_the_estimator_by_measured_error(tmp_path: object) -> None:
    """A 12-feature MLP past the exact scorer: both estimators are measured, the smaller error served,
    and the choice survives saving and loading."""
    model = fitted_model("mlp", "wide12")
    explainer = scorers.fit(model, dataset("wide12")[0], max_exact_features=11, eval_size=5)
    measured = explainer.manifest.fidelity.estimators
    assert measured is not None and set(measured) == {"kernel", "permutation"}
    assert explainer.scorer.name == min(measured, key=measured.__getitem__)
    loaded = scorers.load(explainer.save(f"{tmp_path}/artifact"))
    assert loaded.scorer.name == explainer.scorer.name
    rows = dataset("wide12")[0].iloc[-3:].reset_index(drop=True)
    np.testing.assert_array_equal(loaded.explain(rows).values, explainer.explain(rows).values)
