"""The tree scorer's pattern table: equal to its per-background algorithm, additive, batch invariant,
deterministic, and right for grouped (one-hot) players; deep forests fall back to the per-background path.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, shapley_oracle

import scorers
from scorers.kinds import tree
from scorers.kinds.tree import TreeScorer


def _breast_cancer() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    return pd.DataFrame(data.data, columns=[str(n) for n in data.feature_names]), data.target


def _onehot_data() -> tuple[pd.DataFrame, np.ndarray]:
    """A string column whose levels matter one by one, so that paths split on several of its columns."""
    rng = np.random.default_rng(0)
    n = 400
    color = rng.choice(["red", "green", "blue", "black", "white"], size=n)
    u, v = rng.normal(size=n), rng.normal(size=n)
    level = {"red": 2.0, "green": -1.0, "blue": 0.5, "black": -2.0, "white": 1.0}
    y = np.array([level[c] for c in color]) * (1 + (u > 0)) + v
    return pd.DataFrame({"color": color, "u": u, "v": v}), y


def _onehot_pipeline(frame: pd.DataFrame, y: np.ndarray) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    pre = ColumnTransformer(
        [("cat", OneHotEncoder(handle_unknown="ignore"), ["color"]), ("num", "passthrough", ["u", "v"])]
    )
    head = GradientBoostingRegressor(n_estimators=20, max_depth=5, random_state=0)
    return Pipeline([("pre", pre), ("model", head)]).fit(frame, y)


@functools.cache
def case(name: str) -> tuple[Any, Any, pd.DataFrame]:
    """(model, fitted explainer, rows to explain) of each case, built once."""
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier, RandomForestRegressor

    kwargs: dict[str, Any] = {"scorer": "tree", "eval_size": 20, "background_size": 30}
    if name == "gbm-breast-cancer":
        x, y = _breast_cancer()
        model = GradientBoostingClassifier(max_depth=3, random_state=0).fit(x.iloc[:455].to_numpy(), y[:455])
        kwargs["background_size"] = 100
        fit_rows, rows = x.iloc[:455].reset_index(drop=True), x.iloc[455:].reset_index(drop=True)
    elif name == "onehot-pipeline":
        x, y = _onehot_data()
        model = _onehot_pipeline(x.iloc[:300], y[:300])
        fit_rows, rows = x.iloc[:300].reset_index(drop=True), x.iloc[300:340].reset_index(drop=True)
    elif name == "forest-nan":  # sklearn's trees route NaN by a learned side
        x, _ = dataset("regression")
        arr = x.to_numpy().copy()
        arr[np.random.default_rng(1).random(arr.shape) < 0.15] = np.nan
        x = pd.DataFrame(arr, columns=x.columns)
        y = np.nan_to_num(arr[:, 0]) + np.nan_to_num(arr[:, 1]) * (arr[:, 2] > 0)
        model = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(arr, y)
        fit_rows, rows = x, x.iloc[-20:].reset_index(drop=True)
    elif name == "deep-forest":  # paths of depth 13..18 over 20 features: too many slots for a table
        from sklearn.datasets import make_regression

        arr, y = make_regression(n_samples=300, n_features=20, n_informative=20, random_state=0)
        x = pd.DataFrame(arr, columns=[f"f{j}" for j in range(20)])
        model = RandomForestRegressor(n_estimators=3, max_depth=None, random_state=0).fit(arr, y / np.std(y))
        fit_rows, rows = x, x.iloc[-20:].reset_index(drop=True)
    else:
        x, y = dataset("regression" if name == "forest-depth4" else "multiclass")
        est = {
            "forest-depth4": RandomForestRegressor(n_estimators=10, max_depth=4, random_state=0),
            "forest-multiclass": RandomForestClassifier(n_estimators=10, max_depth=4, random_state=0),
        }[name]
        model = est.fit(x.to_numpy(), y)
        fit_rows, rows = x, x.iloc[-30:].reset_index(drop=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, fit_rows, **kwargs)
    assert explainer.scorer.name == "tree"
    return model, explainer, rows


TABLE_CASES = ["gbm-breast-cancer", "forest-depth4", "forest-multiclass", "forest-nan", "onehot-pipeline"]
ALL_CASES = TABLE_CASES + ["deep-forest"]


def _encoded(name: str) -> tuple[TreeScorer, np.ndarray]:
    _, explainer, rows = case(name)
    return explainer.scorer, explainer.masking.encode(explainer.validate(rows))


@pytest.mark.parametrize("name", ALL_CASES)
def test_table_only_when_small(name: str) -> None:
    scorer, _ = _encoded(name)
    for by_group in (True, False):
        n_leaves, q_max = scorer.slots_[by_group][0].shape
        small = q_max <= tree._TABLE_MAX_SLOTS and n_leaves * 2**q_max * q_max <= tree._TABLE_MAX_ENTRIES
        assert (scorer._table(by_group) is not None) == small
        assert small == (name != "deep-forest")


@pytest.mark.parametrize("by_group", [True, False])
@pytest.mark.parametrize("name", TABLE_CASES)
def test_table_equals_per_background_algorithm(name: str, by_group: bool) -> None:
    scorer, x = _encoded(name)
    x = x[:12]
    if name == "forest-nan":  # the NaN rule of the leaves is exercised
        assert np.isnan(x).any()
    fast, out_fast = scorer._values(x, by_group)
    slow, out_slow = scorer._values(x, by_group, use_table=False)
    # the table path reads the output off the leaves each row reaches (plus the model's constant);
    # the per-background path asks the model
    assert np.array_equal(out_slow, scorer.ctx_.game.outputs(x))
    assert scorer.leaf_offset_ is not None
    np.testing.assert_allclose(out_fast, out_slow, rtol=0, atol=1e-11 * max(1.0, np.max(np.abs(out_slow))))
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    assert np.max(np.abs(slow)) > 1e-3  # not trivially zero


@pytest.mark.parametrize("name", ALL_CASES)
def test_additivity(name: str) -> None:
    _, explainer, rows = case(name)
    assert explainer.explain(rows).additivity_error() < 1e-9
    assert explainer.explain(rows, engineered=True).additivity_error() < 1e-9


@pytest.mark.parametrize("small_chunks", [False, True])
@pytest.mark.parametrize("name", ALL_CASES)
def test_batch_invariance(name: str, small_chunks: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    """A row's values are bit-identical alone and in a batch (also when the batch is split in chunks)."""
    if small_chunks:
        monkeypatch.setattr(tree, "_EXPLAIN_CHUNK", 1000)
    scorer, x = _encoded(name)
    for values in (scorer.shap_values, scorer.engineered_values):
        batch, _ = values(x)
        one_by_one = np.concatenate([values(x[i : i + 1])[0] for i in range(len(x))])
        assert np.array_equal(batch, one_by_one)
        assert np.array_equal(values(x[::-1])[0], batch[::-1])


@pytest.mark.parametrize("name", TABLE_CASES)
def test_table_is_deterministic_across_restore(name: str) -> None:
    """Rebuilt from the saved state, the table is bit-identical (the artifact round trip relies on it)."""
    scorer, x = _encoded(name)
    restored = TreeScorer().set_state(scorer.ctx_, scorer.state())
    for by_group in (True, False):
        a, b = scorer._table(by_group), restored._table(by_group)
        assert a is not None and b is not None
        assert np.array_equal(a.flat, b.flat)
        assert np.array_equal(scorer._values(x, by_group)[0], restored._values(x, by_group)[0])


def test_grouped_players_match_oracle() -> None:
    """One-hot columns of one raw feature share a player slot: the raw table differs from the engineered
    one, and both agree with the per-background path; the raw values equal the brute-force oracle."""
    model, explainer, rows = case("onehot-pipeline")
    scorer = explainer.scorer
    assert explainer.masking.mode == "grouped"
    assert not scorer.one_column_slots_[True]  # some path splits on two levels of 'color'
    assert scorer._table(True) is not scorer._table(False)
    exp = explainer.explain(rows)

    def f(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(frame), dtype=np.float64)[:, None]

    bg = explainer.background
    phi, base, fx = shapley_oracle(f, bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)
    assert np.max(np.abs(phi)) > 1e-2


def test_missing_values_match_oracle() -> None:
    """NaN rows (and sklearn's threshold-inf "missing vs non-missing" splits) are explained exactly."""
    model, explainer, rows = case("forest-nan")
    leaves = explainer.scorer.leaf_lo_
    assert np.isposinf(leaves).any()  # some leaf lies beyond a threshold-inf split
    assert rows.isna().any().any()
    exp = explainer.explain(rows)

    def f(frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(frame.to_numpy(dtype=np.float64)), dtype=np.float64)[:, None]

    bg = explainer.background
    phi, _, fx = shapley_oracle(f, bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-12)


@pytest.mark.parametrize("name", TABLE_CASES)
def test_group_tables_equal_per_leaf_lookup(name: str) -> None:
    """The group tables (tree_combos) give the per-leaf lookup's values and outputs to 1e-12 relative,
    for raw and engineered players."""
    scorer, x = _encoded(name)
    for by_group in (True, False):
        assert scorer._combos(by_group) is not None
        fast, out_fast = scorer._values(x, by_group)
        slow, out_slow = scorer._values(x, by_group, use_groups=False)
        scale = max(1.0, float(np.max(np.abs(slow))))
        np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12 * scale)
        np.testing.assert_allclose(
            out_fast, out_slow, rtol=0, atol=1e-12 * max(1.0, float(np.max(np.abs(out_slow))))
        )


def test_group_tables_match_oracle_when_rows_differ() -> None:
    """Rows whose bins differ from the first rows' (other sides of each split, NaN on late rows) through
    the group tables equal the brute-force oracle against the whole background."""
    from sklearn.ensemble import HistGradientBoostingRegressor

    rng = np.random.default_rng(3)
    arr = rng.normal(size=(300, 4))
    y = arr[:, 0] * (arr[:, 1] > 0) + np.sin(arr[:, 2]) + 0.3 * arr[:, 3]
    arr[rng.random(arr.shape) < 0.1] = np.nan
    frame = pd.DataFrame(arr, columns=["a", "b", "c", "d"])
    model = HistGradientBoostingRegressor(max_iter=15, max_depth=3, random_state=0).fit(arr, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, frame.iloc[:60], scorer="tree", eval_size=10)
    assert explainer.background.method == "all" and explainer.manifest.fidelity.rel_mae_vs_full_data == 0.0
    assert explainer.scorer._combos(True) is not None
    rows = pd.DataFrame(
        [
            [-2.0, -2.0, -2.0, -2.0],
            [2.0, 2.0, 2.0, 2.0],
            [0.1, -0.1, np.nan, 3.0],
            [np.nan, np.nan, 0.0, -3.0],
        ],
        columns=frame.columns,
    )
    exp = explainer.explain(rows)

    def f(z: pd.DataFrame) -> np.ndarray:
        return np.asarray(model.predict(z.to_numpy(dtype=np.float64)), dtype=np.float64)[:, None]

    bg = explainer.background
    phi, _, fx = shapley_oracle(f, bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)
    assert np.max(np.abs(phi[0] - phi[1])) > 1e-2
