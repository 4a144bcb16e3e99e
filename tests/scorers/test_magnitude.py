"""A finite number the model cannot read (beyond float32's range for a scikit-learn tree) is refused by
the cell checks with the row and the field named; packaging records the bound (``scorers.magnitude``),
a model that reads float64 gets none, and an artifact written before bounds existed loads without one."""

from __future__ import annotations

import functools
import json
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scorers
from scorers.input_schema import CATEGORY, FLOAT32_MAX, NUMBER, Feature, Schema

FLOAT32_TEXT = "magnitude <= 3.4028235e+38 (the model reads float32)"


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(120, 3)) * [1.0, 10.0, 100.0], columns=["a", "b", "c"])
    return x, x["a"] - 0.1 * x["b"] + 0.01 * x["c"] ** 2 / 100


@functools.cache
def _packaged(kind: str, root: str) -> Path:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import LinearRegression

    x, y = _data()
    model = (
        RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0)
        if kind == "forest"
        else LinearRegression()
    )
    warnings.simplefilter("ignore")
    explainer = scorers.fit(model.fit(x, y), x, background_size=20, eval_size=10)
    return explainer.save(Path(root) / kind)


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("magnitude"))


def test_packaging_records_float32_for_a_forest_and_no_bound_for_a_linear_model(root: str) -> None:
    forest = json.loads((_packaged("forest", root) / "manifest.json").read_text())["features"]
    assert [f["max_abs"] for f in forest] == [FLOAT32_MAX] * 3
    linear = json.loads((_packaged("linear", root) / "manifest.json").read_text())["features"]
    assert all("max_abs" not in f for f in linear)  # the JSON of an artifact written before bounds
    big = [[1e300, -1e300, 1e308]]
    assert np.isfinite(scorers.load(_packaged("linear", root)).predict(big)).all()


def test_the_cell_checks_and_the_fast_path_refuse_beyond_float32_naming_row_and_field(root: str) -> None:
    explainer = scorers.load(_packaged("forest", root))
    good = [0.1, 2.0, -30.0]
    inputs = {
        "arrays (the fast path)": [good, [0.1, 1e300, -30.0]],
        "objects (the fast path)": [dict(zip("abc", good, strict=True)), {"a": 0.1, "b": 1e300, "c": -30.0}],
        "an integer": [good, [0.1, -(10**300), 2]],
        "a numpy block": np.array([good, [0.1, 1e300, -30.0]]),
        "a frame": pd.DataFrame([good, [0.1, 1e300, -30.0]], columns=list("abc")),
    }
    for what, rows in inputs.items():
        for call in (explainer.predict, explainer.explain):
            with pytest.raises(scorers.InputError) as err:
                call(rows)
            assert (err.value.status, err.value.row, err.value.field) == (400, 1, "b"), what
            got = "got -1e+300" if what == "an integer" else "got 1e+300"
            assert f"{FLOAT32_TEXT}, {got}" in str(err.value), str(err.value)
            assert err.value.kind == "wrong_type"


def test_values_just_within_the_bound_are_answered(root: str) -> None:
    from sklearn.ensemble import RandomForestRegressor

    explainer = scorers.load(_packaged("forest", root))
    rows = [[FLOAT32_MAX, -FLOAT32_MAX, 3.4e38], [-(3 * 10**38), 1.0, -FLOAT32_MAX]]
    x, y = _data()
    model = RandomForestRegressor(n_estimators=5, max_depth=4, random_state=0).fit(x, y)  # as packaged
    want = model.predict(pd.DataFrame(np.array(rows, dtype=np.float64), columns=list("abc")))
    assert np.array_equal(explainer.predict(rows), want)
    exp = explainer.explain(rows)
    assert np.isfinite(exp.values).all() and exp.additivity_error() <= 1e-6


def test_an_artifact_written_before_bounds_loads_without_one(root: str) -> None:
    old = Path(root) / "forest-before"
    shutil.copytree(_packaged("forest", root), old)
    manifest = json.loads((old / "manifest.json").read_text())
    for feat in manifest["features"]:
        del feat["max_abs"]
    (old / "manifest.json").write_text(json.dumps(manifest))
    explainer = scorers.load(old)
    assert all(f.max_abs is None for f in explainer.schema.features)
    assert explainer.validate([[0.1, 1e300, -30.0]]).iloc[0, 1] == 1e300  # as before: the model's to refuse


def test_a_mixed_schema_checks_each_bounded_column() -> None:
    schema = Schema([Feature("a", NUMBER, max_abs=FLOAT32_MAX), Feature("h", CATEGORY, ["x", "y"])])
    frame = pd.DataFrame({"a": [1.0, 2.0, -4e38], "h": ["x", "y", "x"]})
    with pytest.raises(scorers.InputError, match="magnitude") as err:
        schema.validate_frame(frame)
    assert (err.value.row, err.value.field) == (2, "a")
    with pytest.raises(scorers.InputError, match="magnitude") as err:
        schema.rows_to_frame([[1.0, "x"], [4e38, "y"]])
    assert (err.value.row, err.value.field) == (1, "a")
    assert schema.rows_to_frame([[-FLOAT32_MAX, "y"]])["a"].tolist() == [-FLOAT32_MAX]


def test_a_scaling_step_before_a_tree_gets_the_largest_magnitude_the_pipeline_takes() -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeRegressor

    from scorers.interpret.seed_explainers import wrap_model

    x, y = _data()
    x["a"] *= 0.01  # scaled by about 100: 1e37 becomes 1e39, beyond float32
    pipe = make_pipeline(StandardScaler(), DecisionTreeRegressor(max_depth=3)).fit(x, y)
    _, schema, _ = wrap_model(pipe, x)
    bounds = {f.max_abs for f in schema.features}
    assert bounds == {1e36}, bounds
    pipe.predict(pd.DataFrame([[1e36, -1e36, 1e36]], columns=list("abc")))  # taken
    with pytest.raises(ValueError, match="float32"), np.errstate(over="ignore"):
        pipe.predict(pd.DataFrame([[1e37, 0.0, 0.0]], columns=list("abc")))
    with pytest.raises(scorers.InputError, match=r"magnitude <= 1e\+36 \(the model refuses larger\)"):
        schema.rows_to_frame([[0.0, 0.0, 2e36]])


def test_a_model_whose_answer_overflows_is_bounded_where_its_answer_is_finite() -> None:
    """A linear model raises on nothing: 1e308 x 5 is infinity, which no JSON answer can carry (a 500),
    so the probe counts an overflowed answer as a refusal."""
    from sklearn.linear_model import LinearRegression

    from scorers.interpret.seed_explainers import wrap_model

    x, _ = _data()
    model = LinearRegression().fit(x, 5.0 * x["a"])
    _, schema, _ = wrap_model(model, x)
    assert {f.max_abs for f in schema.features} == {1e307}
    with np.errstate(over="ignore"):
        assert not np.isfinite(model.predict(pd.DataFrame([[1e308, 0.0, 0.0]], columns=list("abc")))[0])
    assert np.isfinite(model.predict(pd.DataFrame([[1e307, -1e307, 1e307]], columns=list("abc")))).all()
    with pytest.raises(scorers.InputError, match=r"magnitude <= 1e\+307 \(the model refuses larger\)") as err:
        schema.rows_to_frame([[0.0, 1e308, 0.0]])
    assert (err.value.row, err.value.field) == (0, "b")
