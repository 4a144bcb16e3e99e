"""Permutation feature importance equals scikit-learn's ``permutation_importance`` on the same inputs,
scoring and random_state, whichever way it is asked for (the engine facade, the seed's PFIExplainer);
equals a permutation loop written here on the same permutations and agrees with it, within its
standard error, on independent ones; and refuses what it cannot do with a message that names the field."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from scorer_support import dataset, fitted_explainer, fitted_model
from sklearn.inspection import permutation_importance
from sklearn.metrics import accuracy_score, mean_absolute_error

import scorers
from scorers.errors import InputError, UnsupportedOperationError
from scorers.explanation_objects import GlobalExplanation
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


# --------------------------------------------------------------------------------------------------
# against a permutation loop written here (scikit-learn's metric functions on the model's predictions)
# --------------------------------------------------------------------------------------------------
LOOP_CASES = [
    # (explainer case, data set, the served default metric as a loss: higher is worse)
    ("tree-forest", "binary", lambda y, p: -accuracy_score(y, p)),
    ("linear-logistic-multiclass", "multiclass", lambda y, p: -accuracy_score(y, p)),
    ("tree-gb-regressor", "regression", mean_absolute_error),
]


def _loop_drops(model, x, y, loss, permutations) -> np.ndarray:
    """(features, repeats): the loss on rows whose column j is ``x[perm, j]`` minus the loss on the rows."""
    base = loss(y, model.predict(x))
    drops = np.empty((x.shape[1], len(permutations[0])))
    for j in range(x.shape[1]):
        for r, perm in enumerate(permutations[j]):
            shuffled = x.copy()
            shuffled[:, j] = x[perm, j]
            drops[j, r] = loss(y, model.predict(shuffled)) - base
    return drops


def _scikit_learn_stream(n_rows: int, n_features: int, n_repeats: int, random_state: int) -> list:
    """The permutations ``permutation_importance(random_state=...)`` draws: one seed from the state, and for
    every column a fresh ``RandomState(seed)`` shuffling one index array in place, each repeat applied to
    the column as the previous repeat left it (so repeat r permutes the rows by the composition so far)."""
    seed = np.random.RandomState(random_state).randint(np.iinfo(np.int32).max + 1)
    out = []
    for _ in range(n_features):
        rng, idx, composed, perms = np.random.RandomState(seed), np.arange(n_rows), np.arange(n_rows), []
        for _ in range(n_repeats):
            rng.shuffle(idx)
            composed = composed[idx]
            perms.append(composed.copy())
        out.append(perms)
    return out


@pytest.mark.parametrize(("case", "data", "loss"), LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_pfi_equals_a_permutation_loop_on_the_same_permutations(case: str, data: str, loss) -> None:
    """The same permutations of the rows (scikit-learn's seeding reproduced here): the same drops, to
    rounding, and the same ranking."""
    explainer = fitted_explainer(case)
    x, y = dataset(data)
    rows, labels = x.iloc[-80:], y[-80:]
    model = fitted_model(_model_kind(case), data)
    glob = explainer.explain_global(rows, kind="pfi", labels=labels, n_repeats=7, random_state=3)
    perms = _scikit_learn_stream(len(rows), x.shape[1], 7, 3)
    drops = _loop_drops(model, rows.to_numpy(), labels, loss, perms)
    np.testing.assert_allclose(glob.per_class[0], drops.mean(axis=1), rtol=0, atol=1e-12)
    np.testing.assert_allclose(glob.std[0], drops.std(axis=1), rtol=0, atol=1e-12)
    assert np.ptp(drops.mean(axis=1)) > 0.05  # the features matter unequally: the ranking says something
    order = np.argsort(-np.round(drops.mean(axis=1), 12), kind="stable")
    assert glob.get_ranked_global_names() == [x.columns[j] for j in order]


@pytest.mark.parametrize(("case", "data", "loss"), LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_pfi_agrees_with_a_permutation_loop_on_other_permutations(case: str, data: str, loss) -> None:
    """Independent permutations (numpy's default generator, a fresh permutation per repeat): every
    repeat of either is the drop under a uniformly random permutation, so the two means estimate the same
    expectation and differ by at most 4 standard errors of their difference; features whose loop means
    are further apart than that rank in the same order."""
    explainer = fitted_explainer(case)
    x, y = dataset(data)
    rows, labels = x.iloc[-80:], y[-80:]
    model = fitted_model(_model_kind(case), data)
    served_repeats, loop_repeats = 40, 120
    glob = explainer.explain_global(rows, kind="pfi", labels=labels, n_repeats=served_repeats)
    rng = np.random.default_rng(2024)
    perms = [[rng.permutation(len(rows)) for _ in range(loop_repeats)] for _ in range(x.shape[1])]
    drops = _loop_drops(model, rows.to_numpy(), labels, loss, perms)
    mean, std = drops.mean(axis=1), drops.std(axis=1, ddof=1)
    served, served_std = glob.per_class[0], glob.std[0] * np.sqrt(served_repeats / (served_repeats - 1))
    bound = 4 * np.sqrt(served_std**2 / served_repeats + std**2 / loop_repeats) + 1e-12
    assert np.all(np.abs(served - mean) <= bound), (served, mean, bound)
    apart = [
        (i, j) for i in range(len(mean)) for j in range(len(mean)) if mean[i] - mean[j] > 2 * bound.max()
    ]
    assert apart  # some features matter clearly more than others
    assert all(served[i] > served[j] for i, j in apart), (served, mean)
