"""Permutation feature importance equals scikit-learn's ``permutation_importance`` on the same inputs,
scoring and random_state, whichever way it is asked for (the engine facade, the seed's PFIExplainer),
and refuses what it cannot do with a message that names the field."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scorer_support import dataset, fitted_explainer, fitted_model
from sklearn.inspection import permutation_importance

import scorers
from scorers.errors import InputError, UnsupportedOperationError
from scorers.explanation import GlobalExplanation
from scorers.interpret import PFIExplainer

CASES = [
    # (explainer case, data set, metric or None for the default, the default's scikit-learn name)
    ("tree-forest", "binary", None, "accuracy"),
    ("tree-forest", "binary", "neg_log_loss", "neg_log_loss"),
    ("linear-logistic-multiclass", "multiclass", "balanced_accuracy", "balanced_accuracy"),
    ("tree-gb-regressor", "regression", None, "neg_mean_absolute_error"),
    ("tree-gb-regressor", "regression", "r2", "r2"),
]


def _reference(model, x, y, scoring, n_repeats=5, random_state=0):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return permutation_importance(
            model, x, y, scoring=scoring, n_repeats=n_repeats, random_state=random_state
        )


@pytest.mark.parametrize(("case", "data", "metric", "scoring"), CASES)
def test_pfi_equals_scikit_learn(case: str, data: str, metric: str | None, scoring: str) -> None:
    explainer = fitted_explainer(case)
    x, y = dataset(data)
    rows, labels = x.iloc[-80:], y[-80:]
    model = fitted_model(_model_kind(case), data)
    ref = _reference(model, rows.to_numpy(), labels, scoring)

    glob = explainer.explain_global(rows, kind="pfi", labels=labels, metric=metric)
    assert glob.kind == "pfi" and glob.output_space == scoring and glob.n_rows == 80
    assert glob.per_class.shape == (1, x.shape[1]) and glob.classes is None
    np.testing.assert_array_equal(glob.per_class[0], ref.importances_mean)
    np.testing.assert_array_equal(glob.std[0], ref.importances_std)
    assert glob.info["metric"] == scoring and glob.info["n_repeats"] == 5 and glob.info["random_state"] == 0
    # ranked by decreasing drop of the metric
    order = np.argsort(-ref.importances_mean, kind="stable")
    assert glob.get_ranked_global_names() == [x.columns[j] for j in order]

    # the seed's PFIExplainer gives the same numbers
    pfi = PFIExplainer(model, features=list(x.columns), metric=metric)
    seed = pfi.explain_global(rows.to_numpy(), true_labels=labels)
    np.testing.assert_array_equal(seed.per_class, glob.per_class)
    np.testing.assert_array_equal(seed.std, glob.std)


def _model_kind(case: str) -> str:
    return {
        "tree-forest": "forest",
        "linear-logistic-multiclass": "logistic",
        "tree-gb-regressor": "gb_regressor",
    }[case]


def test_repeats_and_seed_are_scikit_learns() -> None:
    explainer = fitted_explainer("tree-forest")
    x, y = dataset("binary")
    model = fitted_model("forest", "binary")
    ref = _reference(model, x.to_numpy()[:60], y[:60], "accuracy", n_repeats=3, random_state=7)
    glob = explainer.explain_global(x.iloc[:60], kind="pfi", labels=y[:60], n_repeats=3, random_state=7)
    np.testing.assert_array_equal(glob.per_class[0], ref.importances_mean)
    assert glob.info["n_repeats"] == 3 and glob.info["random_state"] == 7


def test_labels_by_class_name_equal_labels_by_model_label() -> None:
    """``classes=`` names the model's classes: true labels may be given either way."""
    x, y = dataset("binary")
    model = fitted_model("forest", "binary")
    names = ["no", "yes"]
    pfi = PFIExplainer(model, features=list(x.columns), classes=names)
    by_label = pfi.explain_global(x.iloc[:60], true_labels=y[:60])
    by_name = pfi.explain_global(x.iloc[:60], true_labels=[names[v] for v in y[:60]])
    np.testing.assert_array_equal(by_label.per_class, by_name.per_class)
    assert by_name.info["classes"] == names


def test_interpret_community_metric_names_are_translated() -> None:
    x, y = dataset("regression")
    model = fitted_model("gb_regressor", "regression")
    glob = PFIExplainer(model, metric="mean_absolute_error").explain_global(x.iloc[:50], true_labels=y[:50])
    ref = _reference(model, x.to_numpy()[:50], y[:50], "neg_mean_absolute_error")
    np.testing.assert_array_equal(glob.per_class[0], ref.importances_mean)
    assert glob.info["baseline"] < 0  # scikit-learn's sign: higher is better


def test_pfi_refusals_name_the_field() -> None:
    explainer = fitted_explainer("tree-forest")
    x, y = dataset("binary")
    rows = x.iloc[:10]
    with pytest.raises(InputError, match="needs the rows' true labels") as e:
        explainer.explain_global(rows, kind="pfi")
    assert e.value.field == "labels"
    with pytest.raises(InputError, match="expected 10 labels") as e:
        explainer.explain_global(rows, kind="pfi", labels=y[:9])
    with pytest.raises(InputError, match="unknown label 'maybe'") as e:
        explainer.explain_global(rows, kind="pfi", labels=[*y[:9].tolist(), "maybe"])
    assert e.value.row == 9 and e.value.field == "labels"
    with pytest.raises(InputError, match="unknown metric 'accuracy_please'") as e:
        explainer.explain_global(rows, kind="pfi", labels=y[:10], metric="accuracy_please")
    assert e.value.field == "metric"
    with pytest.raises(InputError, match="from 1 to 100") as e:
        explainer.explain_global(rows, kind="pfi", labels=y[:10], n_repeats=0)
    with pytest.raises(InputError, match="cannot score this model"):
        multi = fitted_explainer("linear-logistic-multiclass")
        xm, ym = dataset("multiclass")
        multi.explain_global(xm.iloc[:30], kind="pfi", labels=ym[:30], metric="roc_auc")
    reg = fitted_explainer("tree-gb-regressor")
    xr, _ = dataset("regression")
    with pytest.raises(InputError, match="expected a finite number") as e:
        reg.explain_global(xr.iloc[:3], kind="pfi", labels=[1.0, float("nan"), 2.0])
    assert e.value.row == 1


def test_pfi_has_no_local_explanations() -> None:
    x, y = dataset("binary")
    pfi = PFIExplainer(fitted_model("forest", "binary"))
    with pytest.raises(UnsupportedOperationError, match="PFIExplainer has no local explanations"):
        pfi.explain_local(x.iloc[:5])
    with pytest.raises(InputError, match="true_labels"):
        pfi.explain_global(x.iloc[:5])


def test_pfi_json_round_trips_in_the_store_shape() -> None:
    explainer = fitted_explainer("tree-forest")
    x, y = dataset("binary")
    glob = explainer.explain_global(x.iloc[:40], kind="pfi", labels=y[:40])
    d = glob.to_json()
    # the keys the explanation store's global schema accepts
    assert set(d) <= {
        "kind",
        "features",
        "output_space",
        "classes",
        "n_rows",
        "per_class",
        "ranked_names",
    } | {
        "ranked_values",
        "extras",
        "info",
    }
    assert d["kind"] == "pfi" and set(d["extras"]) == {"std"} and d["info"]["metric"] == "accuracy"
    again = GlobalExplanation.from_json(d)
    assert again.kind == "pfi" and again.info == glob.info and again.to_json() == d
    np.testing.assert_array_equal(again.std, glob.std)
    # a shap global explanation carries its kind too, and no extras
    shap = explainer.explain_global(x.iloc[:10]).to_json()
    assert shap["kind"] == "shap" and "extras" not in shap
    assert GlobalExplanation.from_json({k: v for k, v in shap.items() if k != "kind"}).kind == "shap"


def test_scorers_fit_model_is_the_one_scored() -> None:
    """PFI through a fitted explainer scores the packaged model, loaded or not."""
    explainer = fitted_explainer("tree-forest")
    x, y = dataset("binary")
    assert isinstance(explainer, scorers.ScoringExplainer)
    a = explainer.explain_global(x.iloc[:30], kind="pfi", labels=y[:30])
    b = explainer.explain_global(x.iloc[:30].to_dict("records"), kind="pfi", labels=y[:30].tolist())
    np.testing.assert_array_equal(a.per_class, b.per_class)
