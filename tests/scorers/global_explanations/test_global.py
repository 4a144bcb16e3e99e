"""The global explanation (mean |SHAP| over the evaluation sample, ranked) and the automatic choice of
scorer and output space, including the fallback when a scorer cannot explain the requested space."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_explainer, fitted_model

import scorers


@pytest.mark.parametrize(
    "name",
    ["linear-logistic-multiclass", "tree-gb-regressor", "exact-mlp", "kernel_machine-svc", "pipeline-exact"],
)
def test_global_explanation_is_mean_absolute_shap_over_the_sample(name: str) -> None:
    explainer = fitted_explainer(name)
    glob = explainer.global_explanation
    sample = explainer.sample
    assert glob is not None and sample is not None and glob.n_rows == len(sample) == 20
    values = explainer.explain(sample).values  # (n, K, M)
    np.testing.assert_allclose(glob.per_class, np.abs(values).mean(axis=0), rtol=0, atol=1e-12)
    importance = np.abs(values).mean(axis=(0, 1))
    np.testing.assert_allclose(glob.importance, importance, rtol=0, atol=1e-12)

    names, ranked = glob.get_ranked_global_names(), glob.get_ranked_global_values()
    assert sorted(names) == sorted(explainer.features) and len(ranked) == len(names)
    assert all(a >= b for a, b in zip(ranked, ranked[1:], strict=False)), "values are ranked"
    by_name = dict(zip(explainer.features, importance, strict=True))
    np.testing.assert_allclose(ranked, [by_name[n] for n in names], rtol=0, atol=1e-12)

    top = glob.get_feature_importance_dict(3)
    assert list(top) == names[:3]
    np.testing.assert_allclose(list(top.values()), ranked[:3], rtol=0, atol=0)
    assert list(glob.get_feature_importance_dict()) == names

    # explain_global() without rows is the stored one; with rows it is computed on them
    assert explainer.explain_global() is glob
    rows = sample.iloc[:7]
    np.testing.assert_allclose(
        explainer.explain_global(rows).per_class,
        np.abs(explainer.explain(rows).values).mean(axis=0),
        atol=1e-12,
    )


def test_global_ranking_follows_the_model() -> None:
    """A regression that leans hard on x3, a little on x0, not at all on the rest: x3 ranks first."""
    from sklearn.linear_model import LinearRegression

    x, _ = dataset("regression")
    y = 5.0 * x["x3"] + 0.5 * x["x0"]
    explainer = scorers.fit(LinearRegression().fit(x.to_numpy(), y), x, eval_size=50)
    glob = explainer.global_explanation
    assert glob.get_ranked_global_names()[:2] == ["x3", "x0"]
    assert max(glob.get_feature_importance_dict()[n] for n in ("x1", "x2", "x4")) < 1e-9
    # mean |w_j (x_j - mean_j)| over the sample, by hand
    mean = explainer.background.weights @ explainer.background.raw.to_numpy()
    expected = 5.0 * np.abs(explainer.sample["x3"].to_numpy() - mean[3]).mean()
    assert glob.get_feature_importance_dict(1) == pytest.approx({"x3": expected}, rel=1e-9)


# ------------------------------------------------------------------------------------------------
# automatic choice
# ------------------------------------------------------------------------------------------------
def _fit(model, data: str, **kwargs):  # type: ignore[no-untyped-def]
    x, _ = dataset(data)
    return scorers.fit(model, x, **{"background_size": 8, "eval_size": 5, **kwargs})


@pytest.mark.parametrize(
    ("model", "data", "scorer", "space"),
    [
        ("logistic", "binary", "linear", "log_odds"),
        ("forest", "binary", "tree", "probability"),
        ("svc", "binary", "kernel_machine", "raw"),
        ("mlp", "binary", "exact", "probability"),
        ("mlp", "wide12", "exact", "probability"),
    ],
)
def test_auto_choice(model: str, data: str, scorer: str, space: str) -> None:
    explainer = _fit(fitted_model(model, data), data)
    assert (explainer.scorer.name, explainer.output_space) == (scorer, space)
    assert explainer.manifest.scorer.requested == "auto" and explainer.manifest.scorer.fallback is None


def test_auto_choice_for_a_wide_black_box_is_a_black_box_estimator() -> None:
    from sklearn.neural_network import MLPClassifier

    x, y = dataset("wide30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence does not matter here
        model = MLPClassifier(hidden_layer_sizes=(8,), max_iter=300, random_state=0).fit(x.to_numpy(), y)
    explainer = scorers.fit(model, x, eval_size=3)
    # kernel or permutation, whichever measured closer to the full data (scorers.fidelity.estimator)
    measured = explainer.manifest.fidelity.estimators
    assert measured is not None and explainer.scorer.name == min(measured, key=measured.__getitem__)
    assert explainer.output_space == "probability"
    assert explainer.scorer.n_coalitions < 2**30


def test_linear_asked_for_probability_falls_back_and_says_so() -> None:
    explainer = _fit(
        fitted_model("logistic", "binary"), "binary", scorer="linear", output_space="probability"
    )
    assert (explainer.scorer.name, explainer.output_space) == ("exact", "probability")
    report = explainer.manifest.scorer
    assert report.requested == "linear"
    assert report.fallback and "linear" in report.fallback and "probability" in report.fallback
    assert "exact" in report.fallback
    # and the fallback explains probabilities, additively
    exp = explainer.explain(dataset("binary")[0].iloc[:3])
    np.testing.assert_allclose(exp.outputs.sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, atol=1e-9)


def test_scorer_that_cannot_explain_the_model_is_refused() -> None:
    with pytest.raises(scorers.UnsupportedModelError, match="tree"):
        _fit(fitted_model("mlp", "binary"), "binary", scorer="tree")
    with pytest.raises(scorers.InputError, match="output space"):
        _fit(fitted_model("mlp", "binary"), "binary", output_space="logit")
    with pytest.raises(scorers.UnsupportedModelError, match="'probability' space"):
        _fit(fitted_model("ridge", "regression"), "regression", output_space="probability")


def test_an_object_without_predict_is_refused() -> None:
    """Any object with predict is explained as a black box (tests/scorers/runtimes/test_generic_models.py); one
    without it cannot be, and the message says what is accepted."""

    class Scorer:  # has a score, but no predict
        def score(self, x: np.ndarray) -> np.ndarray:
            return np.zeros(len(x))

    with pytest.raises(scorers.UnsupportedModelError, match="Scorer cannot be explained: it has no predict"):
        scorers.fit(Scorer(), pd.DataFrame({"a": [1.0, 2.0, 3.0]}))
