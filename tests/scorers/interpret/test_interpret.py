"""The seed's names (``scorers.interpret``): TabularExplainer is ``scorers.fit`` with the seed's arguments and
layouts; the scoring explainers force their scorer kind, answer in Azure ML's layout and save/load as
artifacts.  Values are checked against the brute-force oracle on small models."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_model, oracle_for

import scorers
from scorers.errors import ArtifactError, InputError, UnsupportedModelError, UnsupportedOperationError
from scorers.interpret import (
    KernelScoringExplainer,
    LinearExplainableModel,
    LinearScoringExplainer,
    MimicExplainer,
    TabularExplainer,
    TreeScoringExplainer,
    load,
    save,
)

FAST = {"background_size": 12, "eval_size": 20, "onnx": False}
NAMES = [f"feature {j}" for j in range(5)]


@pytest.fixture(scope="module")
def forest() -> TabularExplainer:
    """The binary forest's TabularExplainer, fitted once for the tests that only read it."""
    x, _ = dataset("binary")
    model = fitted_model("forest", "binary")
    return TabularExplainer(model, x.to_numpy()[:150], features=NAMES, classes=["neg", "pos"], **FAST)


def test_tabular_explainer_is_fit_auto_with_the_seeds_layout(forest: TabularExplainer) -> None:
    x, _ = dataset("binary")
    model = fitted_model("forest", "binary")
    names, explainer = NAMES, forest
    assert explainer.scorer == "tree" and explainer.features == names
    rows = x.iloc[-6:].to_numpy()
    local = explainer.explain_local(rows[0:5])
    values = np.asarray(local.local_importance_values)  # [class][row][feature]
    assert values.shape == (2, 5, 5) and local.classes == ["neg", "pos"] and local.is_raw
    frame = pd.DataFrame(rows[0:5], columns=names)
    phi, base, fx = oracle_for(explainer.explainer, model, frame, as_array=True)
    np.testing.assert_allclose(values, np.transpose(phi, (1, 0, 2)), atol=1e-9)
    np.testing.assert_allclose(local.expected_values, base, atol=1e-12)
    np.testing.assert_allclose(explainer.expected_values, base, atol=1e-12)

    # ranked by decreasing |value|, per class and row, in the same layout; top_k cuts the last axis
    ranked_names, ranked_values = local.get_ranked_local_names(), local.get_ranked_local_values()
    for k in range(2):
        for i in range(5):
            order = np.argsort(-np.abs(values[k, i]), kind="stable")
            assert ranked_names[k][i] == [names[j] for j in order]
            np.testing.assert_array_equal(ranked_values[k][i], values[k, i][order])
    assert np.asarray(local.get_ranked_local_names(top_k=2)).shape == (2, 5, 2)

    glob = explainer.explain_global(rows)
    assert glob.classes == ["neg", "pos"] and glob.n_rows == 6
    np.testing.assert_allclose(glob.per_class, np.abs(explainer.explainer.explain(rows).values).mean(axis=0))
    assert glob.get_feature_importance_dict(top_k=2) == dict(
        zip(glob.get_ranked_global_names()[:2], glob.get_ranked_global_values()[:2], strict=True)
    )
    per_class_names, per_class_values = glob.get_ranked_per_class_names(), glob.get_ranked_per_class_values()
    for k in range(2):
        order = np.argsort(-glob.per_class[k], kind="stable")
        assert per_class_names[k] == [names[j] for j in order]
        np.testing.assert_array_equal(per_class_values[k], glob.per_class[k][order])
    assert glob.per_class_values == glob.per_class.tolist()
    assert glob.global_importance_values == glob.importance.tolist()
    assert explainer.explain_global().n_rows == 20  # no rows: the training sample explained at fit


def test_regressor_layout_and_class_name_checks() -> None:
    x, _ = dataset("regression")
    model = fitted_model("ridge", "regression")
    explainer = TabularExplainer(model, x.iloc[:100], **FAST)
    local = explainer.explain_local(x.iloc[-3:])
    assert np.asarray(local.local_importance_values).shape == (3, 5)  # [row][feature]
    assert isinstance(local.expected_values, float) and np.asarray(local.get_ranked_local_names()).shape == (
        3,
        5,
    )
    with pytest.raises(InputError, match="this model is a regressor") as e:
        TabularExplainer(model, x.iloc[:50], classes=["a"], **FAST)
    assert e.value.field == "classes"
    clf = fitted_model("forest", "binary")
    xb, _ = dataset("binary")
    with pytest.raises(InputError, match="class names") as e:  # scorers.fit checks the names as well
        TabularExplainer(clf, xb.iloc[:50], classes=["a", "b", "c"], **FAST)
    assert e.value.field == "classes"
    with pytest.raises(InputError, match="4 feature names for 5 columns"):
        TabularExplainer(clf, xb.to_numpy()[:50], features=["a", "b", "c", "d"], **FAST)
    with pytest.raises(InputError, match="the DataFrame's columns are"):
        TabularExplainer(clf, xb.iloc[:50], features=["a", "b", "c", "d", "e"], **FAST)


@pytest.mark.parametrize(
    ("cls", "model", "data", "kind"),
    [
        (KernelScoringExplainer, "forest", "binary", "kernel"),
        (TreeScoringExplainer, "forest", "binary", "tree"),
        (LinearScoringExplainer, "logistic", "multiclass", "linear"),
        (LinearScoringExplainer, "ridge", "regression", "linear"),
    ],
)
def test_scoring_explainers_force_their_kind_and_answer_in_azures_layout(
    cls: type, model: str, data: str, kind: str, tmp_path: Path
) -> None:
    x, _ = dataset(data)
    tab = TabularExplainer(fitted_model(model, data), x.iloc[:100], **FAST)
    scoring = cls(tab)
    assert scoring.explainer.scorer.name == kind
    if tab.scorer == kind:
        assert scoring.explainer is tab.explainer  # reused, not refitted
    rows = x.iloc[-4:]
    values = np.asarray(scoring.explain(rows))
    engine = scoring.explainer.explain(rows).values  # (n, K, M)
    if scoring.explainer.classes is None:
        np.testing.assert_array_equal(values, engine[:, 0, :])  # [row][feature]
    else:
        np.testing.assert_array_equal(values, np.transpose(engine, (1, 0, 2)))  # [class][row][feature]
    assert scoring.predict(rows) == scoring.explain(rows)

    out = save(scoring, directory=tmp_path / "my_directory", exist_ok=True)
    loaded = load(out)
    assert loaded.explain(rows.to_numpy()) == scoring.explain(rows)
    assert load(Path(out) / "manifest.json").explain(rows) == scoring.explain(rows)  # a file in it works too


def test_kernel_scoring_explainer_explains_probabilities_like_azure() -> None:
    x, _ = dataset("binary")
    scoring = KernelScoringExplainer(TabularExplainer(fitted_model("forest", "binary"), x.iloc[:100], **FAST))
    assert scoring.output_space == "probability"
    rows = x.iloc[-3:]
    values = np.asarray(scoring.explain(rows))
    proba = fitted_model("forest", "binary").predict_proba(rows.to_numpy())
    np.testing.assert_allclose(
        np.asarray(scoring.expected_values)[:, None] + values.sum(axis=2), proba.T, atol=1e-6
    )


def test_get_raw_false_gives_engineered_values() -> None:
    from scorer_support import loan

    pipe, rows = loan()
    tab = TabularExplainer(pipe.steps[-1][1], rows.iloc[:100], transformations=pipe.steps[0][1], **FAST)
    scoring = LinearScoringExplainer(tab)
    raw = np.asarray(scoring.explain(rows.iloc[200:203]))
    engineered = np.asarray(scoring.explain(rows.iloc[200:203], get_raw=False))
    assert raw.shape == (2, 3, 7) and engineered.shape[:2] == (2, 3) and engineered.shape[2] > 7
    groups = scoring.explainer.masking.column_group
    np.testing.assert_allclose(
        np.stack([engineered[..., groups == j].sum(-1) for j in range(7)], -1), raw, atol=1e-12
    )
    kernel = KernelScoringExplainer(tab, n_coalitions=64)
    with pytest.raises(UnsupportedModelError, match="explains raw features only"):
        kernel.explain(rows.iloc[:2], get_raw=False)


def test_save_refuses_what_it_must_not_overwrite(tmp_path: Path) -> None:
    x, _ = dataset("binary")
    scoring = TreeScoringExplainer(TabularExplainer(fitted_model("forest", "binary"), x.iloc[:80], **FAST))
    target = tmp_path / "out"
    save(scoring, directory=target)
    with pytest.raises(ArtifactError, match="already exists; pass exist_ok=True"):
        save(scoring, directory=target)
    first = json.loads((target / "manifest.json").read_text())["files"]
    save(scoring, directory=target, exist_ok=True)  # replaces the previous artifact
    assert set(json.loads((target / "manifest.json").read_text())["files"]) == set(first)
    (target / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match=r"not a shapserve artifact's \(\['notes.txt'\]\)"):
        save(scoring, directory=target, exist_ok=True)
    assert (target / "notes.txt").read_text() == "mine"


def test_scoring_explainer_refusals() -> None:
    x, _ = dataset("binary")
    model = fitted_model("logistic", "binary")
    tab = TabularExplainer(model, x.iloc[:80], **FAST)
    with pytest.raises(UnsupportedModelError, match="tree"):
        TreeScoringExplainer(tab)
    mimic = MimicExplainer(model, x.iloc[:80], LinearExplainableModel)
    with pytest.raises(UnsupportedOperationError, match="MimicExplainer explains a surrogate"):
        KernelScoringExplainer(mimic)
    with pytest.raises(UnsupportedOperationError, match="uses the linear scorer, not kernel"):
        KernelScoringExplainer(tab.explainer)
    assert LinearScoringExplainer(tab.explainer).explainer is tab.explainer


def test_explanation_client_is_the_stores_not_the_engines() -> None:
    """The seed's ``azureml.interpret.ExplanationClient`` is ``store.ExplanationClient`` (docs/migration.md):
    the engine does not re-export it, since it imports nothing above it."""
    import scorers.interpret as interpret
    from store import ExplanationClient

    assert "ExplanationClient" not in interpret.__all__
    assert not hasattr(interpret, "ExplanationClient")
    assert hasattr(ExplanationClient, "from_run") and hasattr(ExplanationClient, "upload_model_explanation")
    with pytest.raises(AttributeError):
        interpret.NoSuchName  # noqa: B018
    assert isinstance(scorers.interpret.TabularExplainer, type)


def test_seed_explainers_carry_interactions_and_counterfactuals(forest: TabularExplainer) -> None:
    """explain_local(interactions=True) and the scoring explainer's interactions(): the brute-force
    oracle's pairwise values in the seed's class-first layout, rows summing to the local values;
    counterfactuals() is the engine's, each returned row predicted as the target."""
    from interaction_oracle import interaction_oracle_for

    x, _ = dataset("binary")
    model = fitted_model("forest", "binary")
    names, explainer = NAMES, forest
    rows = x.iloc[-4:].to_numpy()
    local = explainer.explain_local(rows, interactions=True)
    inter = np.asarray(local.local_interaction_values)  # [class][row][feature][feature]
    assert inter.shape == (2, 4, 5, 5) and explainer.explain_local(rows).local_interaction_values is None
    matrix, _, _ = interaction_oracle_for(
        explainer.explainer, model, pd.DataFrame(rows, columns=names), as_array=True
    )
    np.testing.assert_allclose(inter, np.transpose(matrix, (1, 0, 2, 3)), rtol=0, atol=1e-9)
    np.testing.assert_allclose(inter.sum(axis=-1), local.local_importance_values, rtol=0, atol=1e-9)
    with pytest.raises(UnsupportedOperationError, match="raw features"):
        explainer.explain_local(rows, engineered=True, interactions=True)
    scoring = TreeScoringExplainer.from_engine(explainer.explainer)
    np.testing.assert_allclose(scoring.interactions(rows), inter, rtol=0, atol=0)
    pred = explainer.explainer.predict(rows)
    target = "pos" if pred[0] == "neg" else "neg"
    for found in (
        explainer.counterfactuals(rows[:1], target, count=2),
        scoring.counterfactuals(rows[:1], target, count=2),
    ):
        row = found.rows[0]
        assert row.found >= 1 and all(p == target for p in row.predictions)
        wanted = model.classes_[["neg", "pos"].index(target)]
        assert list(model.predict(row.frame.to_numpy())) == [wanted] * row.found
