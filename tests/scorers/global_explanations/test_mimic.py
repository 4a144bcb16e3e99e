"""Mimic (global surrogate) explanations: the surrogate learns the model's outputs, its SHAP values are
exact (brute-force oracle on the fitted surrogate), and its fidelity on held-out rows is reported and
recomputed here independently.  Augmentation follows interpret-community's count."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_explainer, fitted_model, oracle_for
from sklearn.metrics import r2_score

from scorers.errors import InputError
from scorers.explanation_objects import GlobalExplanation
from scorers.global_explanations.mimic import HOLDOUT, augment, n_augmentations
from scorers.interpret import (
    DecisionTreeExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    MimicExplainer,
    SGDExplainableModel,
)

SURROGATES = [LGBMExplainableModel, LinearExplainableModel, SGDExplainableModel, DecisionTreeExplainableModel]


def _held_out(frame: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """The rows the surrogate never saw: the same seeded split, restated."""
    n = len(frame)
    order = np.random.default_rng(seed).permutation(n)
    n_hold = max(2, round(HOLDOUT * n))
    return frame.iloc[np.sort(order[:n_hold])].reset_index(drop=True)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda c: c.__name__)
def test_surrogate_is_exact_additive_and_reports_its_fidelity(surrogate: type) -> None:
    x, _ = dataset("binary")
    model = fitted_model("forest", "binary")
    train, test = x.iloc[:120], x.iloc[-40:].reset_index(drop=True)
    mimic = MimicExplainer(model, train, surrogate, classes=["no", "yes"])

    # fidelity: R^2 of the surrogate's probability against the model's on the held-out rows, and agreement
    held = _held_out(train)
    p_model = model.predict_proba(held.to_numpy())
    p_surrogate = mimic.surrogate.predict(held)
    fid = mimic.fidelity
    assert fid["metric"] == "r2" and fid["rows"] == len(held) == 24
    assert fid["value"] == pytest.approx(r2_score(p_model[:, 1], p_surrogate[:, 1]), abs=1e-12)
    assert fid["agreement"] == pytest.approx(np.mean(p_model.argmax(1) == p_surrogate.argmax(1)))
    np.testing.assert_allclose(p_surrogate.sum(axis=1), 1.0, atol=1e-12)

    # local values: the surrogate's exact SHAP values (oracle on the fitted surrogate itself)
    local = mimic.explain_local(test.iloc[:6])
    values = np.asarray(local.local_importance_values)  # [class][row][feature]
    assert (
        values.shape == (2, 6, 5) and local.classes == ["no", "yes"] and local.output_space == "probability"
    )
    engine = mimic.surrogate.explainers[0]
    phi, base, fx = oracle_for(engine, mimic.surrogate.models[0], test.iloc[:6], as_array=False)
    np.testing.assert_allclose(values[1], phi[:, 0, :], atol=1e-9)
    np.testing.assert_allclose(values[0], -phi[:, 0, :], atol=1e-9)
    np.testing.assert_allclose(local.expected_values, [1 - base[0], base[0]], atol=1e-9)
    outputs = np.asarray(local.expected_values)[:, None] + values.sum(axis=2)
    np.testing.assert_allclose(outputs.T, mimic.surrogate.predict(test.iloc[:6]), atol=1e-9)
    expected_scorer = {"linear": "linear", "tree": "tree"}[surrogate.scorer]
    assert mimic.surrogate.info["scorer"] in (
        expected_scorer,
        "exact",
    )  # exact: LightGBM before tree reads it

    # global: mean |value| per class, with the surrogate's facts
    glob = mimic.explain_global(test)
    assert glob.kind == "mimic" and glob.n_rows == 40 and glob.classes == ["no", "yes"]
    full = np.asarray(mimic.explain_local(test).local_importance_values)
    np.testing.assert_allclose(glob.per_class, np.abs(full).mean(axis=1), atol=1e-12)
    assert glob.info["surrogate"] == surrogate.__name__ and glob.info["fidelity"] == fid
    assert glob.info["training_rows"] == 96 and glob.info["augmentations"] == 0


def test_multiclass_gets_one_surrogate_per_class() -> None:
    x, _ = dataset("multiclass")
    model = fitted_model("logistic", "multiclass")
    mimic = MimicExplainer(model, x.iloc[:150], LinearExplainableModel)
    assert len(mimic.surrogate.explainers) == 3
    held = _held_out(x.iloc[:150])
    p_model = model.predict_proba(held.to_numpy())
    p_surrogate = mimic.surrogate.predict(held)
    assert mimic.fidelity["value"] == pytest.approx(
        r2_score(p_model, p_surrogate, multioutput="uniform_average"), abs=1e-12
    )
    glob = mimic.explain_global(x.iloc[-30:])
    assert glob.per_class.shape == (3, 5) and glob.classes == [0, 1, 2]
    assert glob.get_ranked_per_class_names()[2][0] == glob.features[int(np.argmax(glob.per_class[2]))]


def test_regression_surrogate_learns_the_prediction() -> None:
    x, _ = dataset("regression")
    model = fitted_model("gb_regressor", "regression")
    mimic = MimicExplainer(model, x.iloc[:150], DecisionTreeExplainableModel, {"max_depth": 6})
    held = _held_out(x.iloc[:150])
    assert mimic.fidelity == {
        "metric": "r2",
        "value": pytest.approx(r2_score(model.predict(held.to_numpy()), mimic.surrogate.predict(held)[:, 0])),
        "rows": 30,
    }
    assert mimic.surrogate.models[0].get_depth() <= 6  # explainable_model_args reach it
    local = mimic.explain_local(x.iloc[-4:])
    assert np.asarray(local.local_importance_values).shape == (4, 5)  # [row][feature] for regressors
    assert isinstance(local.expected_values, float) and local.output_space == "raw"


def test_augmentation_count_and_permuted_copies() -> None:
    """interpret-community's count, min(M // n - 1, max); each copy permutes every column on its own."""
    assert n_augmentations(10, 40, 10) == 3
    assert n_augmentations(10, 40, 2) == 2
    assert n_augmentations(100, 30, 10) == 0
    frame = pd.DataFrame({"a": np.arange(6.0), "b": np.arange(6.0) * 10, "c": list("uvwxyz")})
    out = augment(frame, 2, seed=0)
    assert len(out) == 18 and list(out.dtypes) == list(frame.dtypes)
    pd.testing.assert_frame_equal(out.iloc[:6], frame)
    for k in (1, 2):
        copy = out.iloc[6 * k : 6 * (k + 1)]
        for c in frame.columns:
            assert sorted(copy[c]) == sorted(frame[c])  # a permutation of the column
    assert not (out.iloc[6:12]["a"].to_numpy() * 10 == out.iloc[6:12]["b"].to_numpy()).all()  # rows mixed

    # wide data: 8 rows, 24 columns -> 6 training rows after the hold-out, 24 // 6 - 1 = 3 copies
    rng = np.random.default_rng(0)
    wide = pd.DataFrame(rng.normal(size=(8, 24)), columns=[f"f{j}" for j in range(24)])
    from sklearn.linear_model import Ridge

    model = Ridge().fit(wide.to_numpy(), wide.to_numpy() @ rng.normal(size=24))
    mimic = MimicExplainer(
        model, wide, LinearExplainableModel, augment_data=True, max_num_of_augmentations=10
    )
    assert mimic.surrogate.augmentations == 3 and mimic.surrogate.training_rows == 24
    capped = MimicExplainer(model, wide, LinearExplainableModel, max_num_of_augmentations=1)
    assert capped.surrogate.augmentations == 1 and capped.surrogate.training_rows == 12
    off = MimicExplainer(model, wide, LinearExplainableModel, augment_data=False)
    assert off.surrogate.augmentations == 0 and off.surrogate.training_rows == 6


def test_mimic_with_categories_and_missing_values() -> None:
    """The loan pipeline (strings, NaN): surrogates one-hot encode categories and still explain raw columns."""
    from scorer_support import loan

    pipe, rows = loan()
    for surrogate in (LGBMExplainableModel, LinearExplainableModel):
        mimic = MimicExplainer(pipe, rows.iloc[:150], surrogate)
        glob = mimic.explain_global(rows.iloc[150:200])
        assert glob.features == list(rows.columns) and glob.per_class.shape == (2, 7)
        exp = mimic.surrogate.explain(rows.iloc[150:160])
        assert exp.additivity_error() < 1e-9
        assert -1 <= mimic.fidelity["value"] <= 1 and mimic.fidelity["rows"] == 30


def test_packaged_explainer_mimic_trains_on_its_sample_once() -> None:
    explainer = fitted_explainer("tree-forest")
    x, _ = dataset("binary")
    a = explainer.explain_global(x.iloc[-30:], kind="mimic", surrogate="tree")
    b = explainer.explain_global(x.iloc[-30:], kind="mimic", surrogate="DecisionTreeExplainableModel")
    np.testing.assert_array_equal(a.per_class, b.per_class)
    assert len([k for k in explainer.surrogates if k.startswith("DecisionTree")]) == 1
    assert a.info["training_rows"] == len(explainer.sample) - max(2, round(HOLDOUT * len(explainer.sample)))
    again = GlobalExplanation.from_json(a.to_json())
    assert again.kind == "mimic" and again.info == a.info
    np.testing.assert_array_equal(again.per_class, a.per_class)


def test_mimic_refusals() -> None:
    x, _ = dataset("binary")
    model = fitted_model("forest", "binary")
    with pytest.raises(InputError, match="at least 5 initialization rows"):
        MimicExplainer(model, x.iloc[:4], LinearExplainableModel)
    with pytest.raises(InputError, match="unknown explainable model 'boosted'") as e:
        MimicExplainer(model, x.iloc[:50], "boosted")
    assert e.value.field == "surrogate"
    with pytest.raises(InputError, match="3 class names for a model with 2 classes"):
        MimicExplainer(model, x.iloc[:50], LinearExplainableModel, classes=["a", "b", "c"])
