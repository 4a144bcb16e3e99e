"""docs/migration.md, run: every shapserve block of the page executes, and its results are checked (SHAP values
against brute-force Shapley values, PFI against scikit-learn, surrogate fidelity reported).  Each shapserve
block differs from the Azure block beside it only in import lines and in lines marked ``# shapserve:``.

Small data keeps it fast: ``load_breast_cancer`` gives the seed's rows with their first 6 features (so the
oracle enumerates 64 coalitions), and the raw-feature blocks run on 500 generated loan rows.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import oracle_for
from sklearn.inspection import permutation_importance

from scorers.errors import InputError, UnsupportedOperationError

ROOT = Path(__file__).resolve().parents[3]
os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
DOC = ROOT / "docs" / "migration.md"
BLOCK = re.compile(r"<!-- (seed|shapserve|setup): ([\w-]+) -->\n```python\n(.*?)```", re.S)
MARK = "# shapserve:"
SAME = [
    "train",
    "tabular",
    "mimic",
    "pfi",
    "global",
    "local",
    "raw-column-transformer",
    "raw-tuples",
    "scoring-explainer",
    "scoring-save",
]
REPLACED = ["register", "load"]  # Azure's model registry: shapserve's model store instead
N_FEATURES = 6


def _blocks() -> dict[tuple[str, str], str]:
    found = BLOCK.findall(DOC.read_text())
    out = {(role, name): code for role, name, code in found}
    assert len(out) == len(found), "a block name is used twice"
    return out


BLOCKS = _blocks()


def code(role: str, name: str) -> str:
    return BLOCKS[(role, name)]


def run(source: str, ns: dict[str, Any], name: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SVC(probability=True) is deprecated in scikit-learn 1.9
        exec(compile(source, f"docs/migration.md:{name}", "exec"), ns)
    return ns


def _is_import(line: str) -> bool:
    return line.startswith(("from ", "import ")) or not line


def _marked(line: str) -> bool:
    return MARK in line


# ------------------------------------------------------------------------------------------------
# the page itself
# ------------------------------------------------------------------------------------------------
def test_every_azure_block_has_its_shapserve_block() -> None:
    seed = {name for role, name in BLOCKS if role == "seed"}
    ours = {name for role, name in BLOCKS if role == "shapserve"}
    assert seed == ours == set(SAME) | set(REPLACED)


@pytest.mark.parametrize("name", SAME)
def test_only_imports_and_marked_lines_change(name: str) -> None:
    seed = [line.rstrip() for line in code("seed", name).splitlines()]
    ours = [line.rstrip() for line in code("shapserve", name).splitlines()]
    matcher = difflib.SequenceMatcher(a=seed, b=ours, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        removed, added = seed[i1:i2], ours[j1:j2]
        # an import line may change freely; any other line only for a line marked with its reason
        unexplained_added = [line for line in added if not (_is_import(line) or _marked(line))]
        unexplained_removed = [line for line in removed if not _is_import(line)]
        assert not unexplained_added, (name, unexplained_added)
        assert len(unexplained_removed) <= sum(_marked(line) for line in added), (name, unexplained_removed)
    # the imports now come from shapserve, never from Azure or sklearn-pandas
    assert not re.search(
        r"^(from|import) (interpret|azureml|sklearn_pandas)\b", code("shapserve", name), re.M
    )


# ------------------------------------------------------------------------------------------------
# the seed's explainers on the breast cancer model
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def small_breast_cancer(monkeypatch: pytest.MonkeyPatch) -> None:
    import sklearn.datasets

    original = sklearn.datasets.load_breast_cancer

    def first_features(*args: Any, **kwargs: Any) -> Any:
        data = original(*args, **kwargs)
        data.data = data.data[:, :N_FEATURES]
        data.feature_names = data.feature_names[:N_FEATURES]
        return data

    monkeypatch.setattr(sklearn.datasets, "load_breast_cancer", first_features)


def _pfi_global(source: str) -> str:
    """The seed's own instruction for PFI: use the commented line instead."""
    swapped = source.replace(
        "global_explanation = explainer.explain_global(x_test)",
        "# global_explanation = explainer.explain_global(x_test)",
        1,
    ).replace(
        "# global_explanation = explainer.explain_global(x_train, true_labels=y_train)",
        "global_explanation = explainer.explain_global(x_train, true_labels=y_train)",
    )
    assert swapped != source
    return swapped


@pytest.mark.usefixtures("small_breast_cancer")
@pytest.mark.parametrize("kind", ["tabular", "mimic", "pfi"])
def test_seed_explainers_run_and_are_right(kind: str) -> None:
    ns = run(code("shapserve", "train"), {}, "train")
    run(code("shapserve", kind), ns, kind)
    explainer, model = ns["explainer"], ns["model"]
    x_train, x_test, y_train = ns["x_train"], ns["x_test"], ns["y_train"]
    names = [str(n) for n in ns["breast_cancer_data"].feature_names]
    assert ns["classes"] == ["malignant", "benign"]

    glob_code = _pfi_global(code("shapserve", "global")) if kind == "pfi" else code("shapserve", "global")
    run(glob_code, ns, "global")
    glob = ns["global_explanation"]
    ranked = dict(
        zip(ns["sorted_global_importance_names"], ns["sorted_global_importance_values"], strict=True)
    )
    assert ranked == glob.get_feature_importance_dict() and list(ranked) == glob.get_ranked_global_names()
    assert sorted(ranked) == sorted(names)

    if kind == "pfi":
        ref = permutation_importance(model, x_train, y_train, scoring="accuracy", n_repeats=5, random_state=0)
        np.testing.assert_array_equal(glob.per_class[0], ref.importances_mean)
        assert glob.kind == "pfi" and glob.info["classes"] == ["malignant", "benign"]
        with pytest.raises(UnsupportedOperationError, match="no local explanations"):
            run(code("shapserve", "local"), ns, "local")
        return

    run(code("shapserve", "local"), ns, "local")
    local = ns["local_explanation"]
    values = np.asarray(local.local_importance_values)  # [class][row][feature]
    assert values.shape == (2, 5, N_FEATURES) and local.classes == ["malignant", "benign"]
    rows = pd.DataFrame(x_test[0:5], columns=names)
    if kind == "tabular":
        engine = explainer.explainer
        assert engine.scorer.name == "kernel_machine" and engine.output_space == "raw"
        phi, base, _ = oracle_for(engine, model, rows, as_array=True)
        np.testing.assert_allclose(values, np.transpose(phi, (1, 0, 2)), atol=1e-9)
        every = engine.explain(x_test).values
        np.testing.assert_allclose(glob.per_class, np.abs(every).mean(axis=0), atol=1e-12)
        assert glob.kind == "shap" and glob.n_rows == len(x_test)
    else:
        fid = explainer.fidelity
        assert fid["metric"] == "r2" and fid["rows"] == round(0.2 * len(x_train)) and 0.5 < fid["value"] <= 1
        assert glob.kind == "mimic" and glob.info["fidelity"] == fid
        assert glob.info["surrogate"] == "LGBMExplainableModel" and glob.info["augmentations"] == 0
        engine, surrogate = explainer.surrogate.explainers[0], explainer.surrogate.models[0]  # positive class
        phi, base, _ = oracle_for(engine, surrogate, rows, as_array=False)
        np.testing.assert_allclose(values[1], phi[:, 0, :], atol=1e-9)
        np.testing.assert_allclose(values[0], -phi[:, 0, :], atol=1e-9)
    order = np.argsort(-np.abs(values), axis=2, kind="stable")
    assert ns["sorted_local_importance_names"] == np.asarray(names, dtype=object)[order].tolist()
    np.testing.assert_array_equal(ns["sorted_local_importance_values"], np.take_along_axis(values, order, 2))


# ------------------------------------------------------------------------------------------------
# raw features and the scoring explainer
# ------------------------------------------------------------------------------------------------
def _check_raw(ns: dict[str, Any]) -> None:
    explainer, clf = ns["tabular_explainer"], ns["clf"]
    engine = explainer.explainer
    assert engine.manifest.masking.mode == "grouped" and engine.scorer.name == "linear"
    rows = ns["x_test"].iloc[:3].reset_index(drop=True)
    local = explainer.explain_local(rows)
    phi, base, _ = oracle_for(engine, clf, rows, as_array=False)
    np.testing.assert_allclose(
        np.asarray(local.local_importance_values), np.transpose(phi, (1, 0, 2)), atol=1e-9
    )
    assert local.classes == ns["dataset_classes"] and local.features == ns["dataset_feature_names"]
    engineered = np.asarray(explainer.explain_local(rows, engineered=True).local_importance_values)
    groups = engine.masking.column_group
    summed = np.stack([engineered[..., groups == j].sum(-1) for j in range(7)], -1)
    np.testing.assert_allclose(summed, np.asarray(local.local_importance_values), atol=1e-12)


def test_raw_feature_blocks_and_the_scoring_explainer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = run(code("setup", "raw"), {}, "setup-raw")

    # the seed's ColumnTransformer block with only its imports completed stops at the missing fit
    as_seed = "\n".join(
        line for line in code("shapserve", "raw-column-transformer").splitlines() if MARK not in line
    )
    with pytest.raises(InputError, match=r"not fitted.*clf\.fit\(x_train, y_train\)"):
        run(as_seed, dict(setup), "raw-column-transformer")

    ns = run(code("shapserve", "raw-column-transformer"), dict(setup), "raw-column-transformer")
    _check_raw(ns)

    ns = run(code("shapserve", "raw-tuples"), dict(setup), "raw-tuples")
    _check_raw(ns)

    monkeypatch.chdir(tmp_path)
    for name in ("setup:scoring", "scoring-explainer", "scoring-save"):
        role, _, block = name.rpartition(":")
        run(code(role or "shapserve", block), ns, name)
    saved = ns["scoring_explainer"]
    assert saved.explainer.scorer.name == "kernel" and saved.output_space == "probability"
    assert (tmp_path / "my_directory" / "manifest.json").is_file()
    run(code("shapserve", "register"), ns, "register")
    assert str(ns["scoring_explainer_model"]).startswith("my_scoring_explainer:")
    run(code("shapserve", "load"), ns, "load")
    preds, x_test = ns["preds"], ns["x_test"]
    assert np.asarray(preds).shape == (2, len(x_test), 7)  # Azure's layout: [class][row][feature]
    assert preds == saved.explain(x_test)
    proba = ns["clf"].predict_proba(x_test)
    base = np.asarray(ns["scoring_explainer"].expected_values)
    np.testing.assert_allclose(base[:, None] + np.asarray(preds).sum(axis=2), proba.T, atol=1e-6)
