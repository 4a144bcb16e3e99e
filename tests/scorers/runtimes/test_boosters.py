"""LightGBM and XGBoost models (boosters and scikit-learn wrappers): explained exactly by the tree scorer.

The reference is the brute-force oracle (tests/scorers/scorer_support.py) over a function that does not
use ``scorers``: LightGBM's own outputs (it sums in float64), and for XGBoost, which sums its float32
leaves in float32, the exact float64 sum of the leaves the library itself routes each row to
(``pred_leaf``) plus its base margin.  Rows and background hold NaN, exact zeros and values in
LightGBM's zero band, so every missing-value rule is exercised.  The libraries' own contributions
(``pred_contrib`` / ``pred_contribs``) are path-dependent TreeSHAP: they equal interventional values
only for additive models (stumps) against the training rows, which is checked.
"""

from __future__ import annotations

import functools
import json
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest
import xgboost as xgb
from scorer_support import shapley_oracle

import scorers

TOL = 1e-9  # exact: rounding only


# --------------------------------------------------------------------------------------------------
# data and models
# --------------------------------------------------------------------------------------------------
@functools.cache
def data() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """300 rows, 5 features with NaN (10%) and exact zeros (5%); regression, binary (str), 3-class targets."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(300, 5))
    x[rng.random(x.shape) < 0.05] = 0.0
    x[rng.random(x.shape) < 0.10] = np.nan
    z = np.nan_to_num(x)
    signal = z[:, 0] + np.sin(2 * z[:, 1]) * (1 + z[:, 2]) - 0.5 * (x[:, 3] == 0) + 0.3 * np.isnan(x[:, 4])
    y = signal + 0.1 * rng.normal(size=300)
    yb = np.where(signal + 0.3 * rng.normal(size=300) > 0.2, "yes", "no")
    ym = np.digitize(signal, [-0.5, 0.6])
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(5)]), y, yb, ym


def rows() -> pd.DataFrame:
    """Held-out-like rows with NaN, 0.0, values inside LightGBM's zero band and just outside it."""
    x = data()[0].iloc[-8:].reset_index(drop=True).copy()
    x.loc[0, "x0"], x.loc[1, "x1"], x.loc[2, "x2"], x.loc[3, "x3"] = 0.0, 1e-36, -1e-36, 2e-35
    x.loc[4, "x0"], x.loc[5, "x3"], x.loc[6, "x4"], x.loc[7, "x1"] = np.nan, 0.0, np.nan, -0.0
    return x


_LGB = {"verbose": -1, "num_leaves": 6, "min_child_samples": 5, "n_estimators": 10, "random_state": 0}
_LGB_TRAIN = {"verbose": -1, "num_leaves": 6, "min_data_in_leaf": 5, "seed": 0}
_XGB = {"n_estimators": 10, "max_depth": 3, "random_state": 0}


def _lgb_train(params: dict[str, Any], target: np.ndarray, rounds: int = 10) -> Any:
    x = data()[0]
    return lgb.train({**_LGB_TRAIN, **params}, lgb.Dataset(x.to_numpy(), target), num_boost_round=rounds)


def _xgb_train(params: dict[str, Any], target: np.ndarray, rounds: int = 10) -> Any:
    x = data()[0]
    return xgb.train({"max_depth": 3, "seed": 0, **params}, xgb.DMatrix(x.to_numpy(), target), rounds)


def _flip_zero_defaults(booster: Any) -> Any:
    """The same LightGBM model with the default side of every split flipped: with zero_as_missing, the
    zero band then lies on the far side of some thresholds (not one interval per side)."""
    lines = []
    for line in booster.model_to_string().splitlines():
        if line.startswith("tree_sizes="):  # byte sizes of the trees, which the edit changes
            continue
        if line.startswith("decision_type="):
            line = "decision_type=" + " ".join(str(int(v) ^ 2) for v in line.split("=")[1].split())
        lines.append(line)
    return lgb.Booster(model_str="\n".join(lines) + "\n")


MODELS: dict[str, Callable[[], Any]] = {
    "lgb-booster-regression": lambda: _lgb_train({"objective": "regression"}, data()[1]),
    "lgb-regressor": lambda: lgb.LGBMRegressor(**_LGB).fit(data()[0], data()[1]),
    "lgb-classifier-binary": lambda: lgb.LGBMClassifier(**_LGB).fit(data()[0], data()[2]),
    "lgb-booster-multiclass": lambda: _lgb_train({"objective": "multiclass", "num_class": 3}, data()[3], 6),
    "lgb-classifier-multiclass": lambda: lgb.LGBMClassifier(**_LGB).fit(data()[0], data()[3]),
    "lgb-zero-as-missing": lambda: lgb.LGBMClassifier(**_LGB, zero_as_missing=True).fit(data()[0], data()[2]),
    "lgb-zero-as-missing-flipped": lambda: _flip_zero_defaults(
        _lgb_train({"objective": "regression", "zero_as_missing": True}, data()[1])
    ),
    "lgb-nan-flipped": lambda: _flip_zero_defaults(_lgb_train({"objective": "regression"}, data()[1])),
    "lgb-no-missing": lambda: lgb.LGBMRegressor(**_LGB, use_missing=False).fit(data()[0], data()[1]),
    "lgb-sigmoid": lambda: _lgb_train({"objective": "binary", "sigmoid": 2.0}, data()[2] == "yes"),
    "lgb-rf": lambda: lgb.LGBMRegressor(
        **_LGB, boosting_type="rf", subsample=0.7, subsample_freq=1, colsample_bytree=0.8
    ).fit(data()[0], data()[1]),
    "lgb-dart": lambda: lgb.LGBMClassifier(**_LGB, boosting_type="dart", drop_rate=0.3).fit(
        data()[0], data()[2]
    ),
    "xgb-booster-regression": lambda: _xgb_train({}, data()[1]),
    "xgb-regressor": lambda: xgb.XGBRegressor(**_XGB).fit(data()[0], data()[1]),
    "xgb-booster-binary": lambda: _xgb_train(
        {"objective": "binary:logistic", "base_score": 0.3}, (data()[2] == "yes").astype(float)
    ),
    "xgb-classifier-binary": lambda: xgb.XGBClassifier(**_XGB).fit(data()[0], data()[2] == "yes"),
    "xgb-classifier-multiclass": lambda: xgb.XGBClassifier(**_XGB).fit(data()[0], data()[3]),
    "xgb-dart": lambda: xgb.XGBRegressor(**_XGB, booster="dart", rate_drop=0.3, skip_drop=0.0).fit(
        data()[0], data()[1]
    ),
    "xgb-rf": lambda: xgb.XGBRFClassifier(n_estimators=5, max_depth=3, random_state=0).fit(
        data()[0], data()[3]
    ),
}


@functools.cache
def model(name: str) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MODELS[name]()


@functools.cache
def explainer(name: str) -> scorers.ScoringExplainer:
    return scorers.fit(model(name), data()[0], background_size=16, eval_size=20)


# --------------------------------------------------------------------------------------------------
# references that do not use scorers/
# --------------------------------------------------------------------------------------------------
def _is_classifier(m: Any) -> bool:
    if isinstance(m, lgb.Booster):
        return str(m.dump_model()["objective"]).split()[0] in ("binary", "multiclass")
    if isinstance(m, xgb.Booster):
        return json.loads(m.save_config())["learner"]["objective"]["name"].startswith(
            ("binary:logistic", "multi")
        )
    return hasattr(m, "predict_proba")


def _log_odds(p: np.ndarray) -> np.ndarray:
    """The definition: binary [-m, m] with m the log-odds of the positive class; else centred log p."""
    if p.shape[1] == 2:
        m = np.log(p[:, 1]) - np.log(p[:, 0])
        return np.column_stack([-m, m])
    lp = np.log(p)
    return lp - lp.mean(axis=1, keepdims=True)


def lightgbm_output(m: Any, frame: pd.DataFrame) -> np.ndarray:
    """LightGBM's own prediction (regressors) or log-odds of its own probabilities (classifiers)."""
    x = frame if hasattr(m, "feature_names_in_") else frame.to_numpy(dtype=np.float64)
    if not _is_classifier(m):
        return np.asarray(m.predict(x), dtype=np.float64).reshape(len(frame), 1)
    p = np.asarray(m.predict_proba(x) if hasattr(m, "predict_proba") else m.predict(x), dtype=np.float64)
    return _log_odds(np.column_stack([1 - p, p]) if p.ndim == 1 else p)


def xgboost_exact_margin(m: Any, frame: pd.DataFrame) -> np.ndarray:
    """XGBoost's margin summed exactly: the float32 leaves the library routes each row to, in float64."""
    booster = m if isinstance(m, xgb.Booster) else m.get_booster()
    learner = json.loads(booster.save_raw("json"))["learner"]
    gb = learner["gradient_booster"]
    trees = (gb["gbtree"] if gb["name"] == "dart" else gb)["model"]
    weights = gb.get("weight_drop") or [1.0] * len(trees["trees"])
    param = learner["learner_model_param"]
    k = max(1, int(param["num_class"]))
    base = np.array([float(np.float32(v)) for v in param["base_score"].strip("[]").split(",")])
    if learner["objective"]["name"] == "binary:logistic":
        base = np.log(base) - np.log1p(-base)
    dm = xgb.DMatrix(frame.to_numpy(dtype=np.float64), feature_names=booster.feature_names)
    leaves = booster.predict(dm, pred_leaf=True)
    leaves = leaves.reshape(len(frame), -1).astype(np.int64)
    out = np.zeros((len(frame), k)) + np.float32(base).astype(np.float64)
    for t, (tree, group) in enumerate(zip(trees["trees"], trees["tree_info"], strict=True)):
        values = np.asarray(tree["split_conditions"], dtype=np.float32).astype(np.float64)
        out[:, group] += float(np.float32(weights[t])) * values[leaves[:, t]]
    if not _is_classifier(m):
        return out
    return np.column_stack([-out[:, 0], out[:, 0]]) if k == 1 else out - out.mean(axis=1, keepdims=True)


def reference(name: str) -> Callable[[pd.DataFrame], np.ndarray]:
    m = model(name)
    if name.startswith("lgb"):
        return lambda frame: lightgbm_output(m, frame)
    return lambda frame: xgboost_exact_margin(m, frame)


# --------------------------------------------------------------------------------------------------
# exactness
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", list(MODELS))
def test_tree_scorer_equals_the_oracle(name: str) -> None:
    exp_ = explainer(name)
    classifier = _is_classifier(model(name))
    assert exp_.scorer.name == "tree" and exp_.manifest.scorer.fallback is None
    assert exp_.output_space == ("log_odds" if classifier else "raw")
    assert exp_.manifest.model.prediction_runtime == name[:3].replace("lgb", "lightgbm").replace(
        "xgb", "xgboost"
    )
    x = rows()
    exp = exp_.explain(x)
    bg = exp_.background
    phi, base, fx = shapley_oracle(reference(name), bg.raw, np.asarray(bg.weights), x)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=TOL)
    np.testing.assert_allclose(exp.base_values, base, rtol=0, atol=TOL)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=TOL)
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, rtol=0, atol=1e-12)
    assert exp_.manifest.checks is not None and exp_.manifest.checks.additivity_max_abs_error < 1e-12


@pytest.mark.parametrize(
    "name", ["xgb-booster-regression", "xgb-classifier-binary", "xgb-classifier-multiclass"]
)
def test_xgboost_outputs_are_its_float32_margin_to_float32_rounding(name: str) -> None:
    """XGBoost sums in float32; the explained output is the exact sum, within float32 rounding of it."""
    exp_ = explainer(name)
    x = rows()
    lib = exp_.scorer._check_fitted().game.fn(exp_.masking.encode(x))  # the library's margin, float32
    out = exp_.explain(x).outputs
    assert 0 < np.max(np.abs(out - lib)) < 1e-5 * max(1.0, float(np.max(np.abs(lib))))


def test_float32_thresholds_of_xgboost_are_exact_at_the_boundary() -> None:
    """Values on either side of a split's float32 threshold (and between float32 neighbours) route as
    XGBoost routes them."""
    name = "xgb-booster-regression"
    exp_ = explainer(name)
    tree = json.loads(model(name).save_raw("json"))["learner"]["gradient_booster"]["model"]["trees"][0]
    t = np.float32(tree["split_conditions"][0])
    f = int(tree["split_indices"][0])
    below = np.nextafter(t, np.float32(-np.inf))
    values = [float(t), float(below), float(t) - 1e-12, float(below) + 1e-12, float(np.nextafter(below, -1))]
    x = pd.concat([rows().iloc[:1]] * len(values), ignore_index=True)
    x[f"x{f}"] = values
    exp = exp_.explain(x)
    np.testing.assert_allclose(exp.outputs, xgboost_exact_margin(model(name), x), rtol=0, atol=TOL)


def test_lightgbm_zero_band_split_into_intervals() -> None:
    """With zero_as_missing and the default side flipped, a side is two intervals: the subtree is
    repeated under each (more leaves than the model has) and the values stay exact (the oracle test)."""
    booster = model("lgb-zero-as-missing-flipped")
    n_leaves = sum(t["num_leaves"] for t in booster.dump_model()["tree_info"])
    assert explainer("lgb-zero-as-missing-flipped").scorer.leaf_value_.shape[0] > n_leaves
    assert explainer("lgb-nan-flipped").scorer.leaf_value_.shape[0] == sum(
        t["num_leaves"] for t in model("lgb-nan-flipped").dump_model()["tree_info"]
    )


def test_predictions_are_the_libraries_own() -> None:
    x = rows()
    for name in ("lgb-classifier-binary", "xgb-classifier-multiclass", "lgb-regressor", "xgb-regressor"):
        m, exp_ = model(name), explainer(name)
        assert np.array_equal(exp_.predict(x), m.predict(x))
        if hasattr(m, "predict_proba"):
            assert np.array_equal(exp_.predict_proba(x), np.asarray(m.predict_proba(x), dtype=np.float64))
    assert explainer("lgb-classifier-binary").classes == ["no", "yes"]


# --------------------------------------------------------------------------------------------------
# the libraries' own contributions
# --------------------------------------------------------------------------------------------------
def test_lightgbm_pred_contrib_is_path_dependent_and_equals_ours_on_stumps() -> None:
    """pred_contrib is path-dependent TreeSHAP: additive to the raw score; for stumps (one feature per
    tree) it is interventional SHAP against the training rows, so it equals ours to rounding."""
    x, y = data()[0], data()[1]
    stumps = lgb.train({**_LGB_TRAIN, "num_leaves": 2}, lgb.Dataset(x.to_numpy(), y), num_boost_round=20)
    ours = scorers.fit(stumps, x, summary="all", eval_size=10).explain(rows())
    contrib = stumps.predict(rows().to_numpy(), pred_contrib=True)
    np.testing.assert_allclose(contrib[:, :-1], ours.values[:, 0, :], rtol=0, atol=TOL)
    np.testing.assert_allclose(contrib[:, -1], ours.base_values[0], rtol=0, atol=TOL)
    deep = model("lgb-booster-regression")
    contrib = deep.predict(rows().to_numpy(), pred_contrib=True)
    raw = deep.predict(rows().to_numpy(), raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1), raw, rtol=0, atol=1e-12)


def test_xgboost_pred_contribs_is_path_dependent_and_equals_ours_on_stumps() -> None:
    """pred_contribs (float32) is path-dependent TreeSHAP with hessian covers: for squared-error stumps
    the covers are the training rows, so it equals ours to float32 rounding."""
    x, y = data()[0], data()[1]
    stumps = xgb.train({"max_depth": 1, "seed": 0}, xgb.DMatrix(x.to_numpy(), y), 20)
    ours = scorers.fit(stumps, x, summary="all", eval_size=10).explain(rows())
    contrib = stumps.predict(xgb.DMatrix(rows().to_numpy()), pred_contribs=True)
    np.testing.assert_allclose(contrib[:, :-1], ours.values[:, 0, :], rtol=0, atol=1e-5)
    np.testing.assert_allclose(contrib[:, -1], ours.base_values[0], rtol=0, atol=1e-5)
    margin = stumps.predict(xgb.DMatrix(rows().to_numpy()), output_margin=True)
    np.testing.assert_allclose(contrib.sum(axis=1), margin, rtol=0, atol=1e-5)


# --------------------------------------------------------------------------------------------------
# what the tree scorer refuses, and the fallback that says why
# --------------------------------------------------------------------------------------------------
def _categorical() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(300, 4)), columns=list("abcd"))
    x["d"] = rng.integers(0, 5, 300).astype(float)
    y = x["a"].to_numpy() + 3.0 * (x["d"] == 2) - 2.0 * (x["d"] == 4) + 0.1 * rng.normal(size=300)
    return x, y


def _refused(kind: str) -> tuple[Any, pd.DataFrame]:
    x, y = _categorical()
    arr = x.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if kind == "lgb-categorical":
            params = {**_LGB_TRAIN, "max_cat_to_onehot": 2}
            return lgb.train(params, lgb.Dataset(arr, y, categorical_feature=[3]), 5), x
        if kind == "lgb-linear-tree":
            return lgb.LGBMRegressor(**_LGB, linear_tree=True).fit(x, y), x
        if kind == "lgb-poisson":
            return lgb.LGBMRegressor(**_LGB, objective="poisson").fit(x, np.exp(y / 4)), x
        if kind == "xgb-categorical":
            d = xgb.DMatrix(arr, y, feature_types=["q", "q", "q", "c"], enable_categorical=True)
            return xgb.train({"max_depth": 2, "tree_method": "hist"}, d, 5), x
        if kind == "xgb-multi-output-tree":
            cls = np.digitize(y, [-0.5, 1.0])
            return xgb.XGBClassifier(
                n_estimators=5, max_depth=2, multi_strategy="multi_output_tree", tree_method="hist"
            ).fit(x, cls), x
        if kind == "xgb-gblinear":
            return xgb.XGBRegressor(n_estimators=5, booster="gblinear").fit(x, y), x
        if kind == "xgb-missing-zero":
            return xgb.XGBRegressor(n_estimators=5, max_depth=2, missing=0.0).fit(x, y), x
    raise KeyError(kind)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("lgb-categorical", "categorical splits"),
        ("lgb-linear-tree", "linear trees"),
        ("lgb-poisson", "objective 'poisson' is not the sum of the trees"),
        ("xgb-categorical", "categorical splits"),
        ("xgb-multi-output-tree", "vector leaves"),
        ("xgb-gblinear", "gblinear"),
        ("xgb-missing-zero", "missing=0.0"),
    ],
)
def test_unsupported_trees_fall_back_with_the_reason(kind: str, reason: str) -> None:
    m, x = _refused(kind)
    explainer_ = scorers.fit(m, x, background_size=8, eval_size=10)
    assert explainer_.scorer.name == "exact" and explainer_.scorer.exact
    note = explainer_.manifest.scorer.fallback
    assert note is not None and "tree scorer cannot explain it exactly" in note and reason in note
    exp = explainer_.explain(x.iloc[:4])
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, rtol=0, atol=1e-9)
    with pytest.raises(scorers.UnsupportedModelError, match=reason):
        scorers.fit(m, x, scorer="tree", background_size=8, eval_size=10)


# --------------------------------------------------------------------------------------------------
# artifacts: native files, bit-identical explanations
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "file"),
    [
        ("lgb-booster-multiclass", "model.txt"),
        ("lgb-classifier-binary", "model.txt"),
        ("lgb-zero-as-missing-flipped", "model.txt"),
        ("xgb-booster-binary", "model.json"),
        ("xgb-classifier-multiclass", "model.json"),
        ("xgb-dart", "model.json"),
    ],
)
def test_round_trip_is_bit_identical_from_the_library_file(name: str, file: str, tmp_path: Path) -> None:
    original = explainer(name)
    directory = original.save(tmp_path / name)
    manifest = json.loads((directory / "manifest.json").read_text())["model"]
    assert manifest["file"] == file and manifest["pickle"] is False
    assert (
        manifest["format"]
        == manifest["prediction_runtime"]
        == name[:3].replace("lgb", "lightgbm").replace("xgb", "xgboost")
    )
    assert manifest["type"] == type(model(name)).__name__
    loaded = scorers.load(directory)  # no trust needed: the file is data
    x = rows()
    a, b = original.explain(x), loaded.explain(x)
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.base_values, b.base_values)
    assert np.array_equal(a.outputs, b.outputs)
    assert np.array_equal(original.predict(x), loaded.predict(x))
    assert loaded.classes == original.classes
    if original.classes is not None:
        assert np.array_equal(original.predict_proba(x), loaded.predict_proba(x))


# --------------------------------------------------------------------------------------------------
# a wrapper inside a Pipeline, and the probability space
# --------------------------------------------------------------------------------------------------
def test_pipeline_with_a_lightgbm_head_is_explained_exactly_over_raw_columns(tmp_path: Path) -> None:
    from scorer_support import loan, oracle_for
    from sklearn.base import clone

    from scorers.examples import loan_data

    pipe, x = loan()
    _, y = loan_data()
    head = lgb.LGBMClassifier(n_estimators=8, num_leaves=4, min_child_samples=5, verbose=-1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = clone(pipe).set_params(classifier=head).fit(x, y.iloc[:300])
        explainer_ = scorers.fit(fitted, x, background_size=10, eval_size=10)
    assert (explainer_.scorer.name, explainer_.output_space, explainer_.masking.mode) == (
        "tree",
        "log_odds",
        "grouped",
    )
    held = loan_data()[0].iloc[300:306].reset_index(drop=True)
    phi, base, fx = oracle_for(explainer_, fitted, held, as_array=False)
    exp = explainer_.explain(held)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=TOL)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=TOL)
    loaded = scorers.load(explainer_.save(tmp_path / "pipe"), trust_pickle=True)
    assert np.array_equal(loaded.explain(held).values, exp.values)


@pytest.mark.parametrize("name", ["lgb-classifier-binary", "xgb-classifier-multiclass"])
def test_probability_space_kernel_is_anchored_on_the_tree_margin(name: str) -> None:
    x = data()[0]
    explainer_ = scorers.fit(
        model(name), x, scorer="kernel", output_space="probability", background_size=8, eval_size=5
    )
    assert explainer_.scorer.name == "kernel"
    assert explainer_.manifest.scorer.params.get("anchor") == "tree:log_odds"
    exp = explainer_.explain(rows().iloc[:3])
    np.testing.assert_allclose(exp.outputs, explainer_.predict_proba(rows().iloc[:3]), rtol=0, atol=1e-12)
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, rtol=0, atol=1e-6)


# --------------------------------------------------------------------------------------------------
# model files given to the CLI
# --------------------------------------------------------------------------------------------------
def test_library_model_files_load_as_boosters(tmp_path: Path) -> None:
    from scorers.model_io import load_model_file

    lgb_path = tmp_path / "model.txt"
    model("lgb-classifier-binary").booster_.save_model(str(lgb_path))
    loaded = load_model_file(lgb_path)
    assert isinstance(loaded, lgb.Booster)
    for suffix in ("json", "ubj"):
        path = tmp_path / f"model.{suffix}"
        model("xgb-classifier-multiclass").save_model(str(path))
        booster = load_model_file(path)
        assert isinstance(booster, xgb.Booster)
        explainer_ = scorers.fit(booster, data()[0], background_size=8, eval_size=5)
        assert (explainer_.scorer.name, explainer_.classes) == ("tree", [0, 1, 2])
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(scorers.ShapserveError, match="not an XGBoost model"):
        load_model_file(tmp_path / "bad.json")
