"""Evaluation rows stored with the artifact (``scorers.evaluate`` / ``--eval-data``): memory-mapped .npy
columns and their JSON index (no pickle, no pyarrow) listed with their sha256 (older artifacts' Parquet
file still read), read back lazily with the same rows and labels, and the global explanations computed on
them stored in the manifest; artifacts without them load as before."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_model, loan

import scorers
from scorers import runtime_packages
from scorers.errors import ArtifactError, InputError
from scorers.examples import loan_data
from scorers.manifest import Manifest

FAST = {"background_size": 10, "eval_size": 40, "onnx": False}


def test_evaluation_rows_labels_and_globals_round_trip(tmp_path: Path) -> None:
    pipe, rows = loan()
    x, y = loan_data()
    explainer = scorers.fit(pipe, rows, **FAST)
    test = x.iloc[1500:1560].reset_index(drop=True).assign(decision=y.iloc[1500:1560].to_numpy())
    results = scorers.evaluate(
        explainer, test, target="decision", kinds=["shap", "pfi", "mimic"], surrogate="tree"
    )
    assert set(results) == {"shap", "pfi", "mimic"}
    assert results["pfi"].info["metric"] == "accuracy" and results["mimic"].info["surrogate"].startswith(
        "Decision"
    )
    frame, labels = explainer.eval_data
    assert list(frame.columns) == explainer.features and len(frame) == 60
    assert labels.tolist() == y.iloc[1500:1560].tolist()

    out = explainer.save(tmp_path / "a")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluation"]["file"] == "eval.json"
    rows = ["eval.json", "eval.numbers.npy", "eval.codes.npy", "eval.check_rows.npy", "eval.labels.npy"]
    rows += ["eval.order.npy", "eval.rank.npy"]
    assert set(rows) <= set(manifest["files"]) and "eval.parquet" not in manifest["files"]
    assert not runtime_packages.needed(Manifest.model_validate(manifest))  # a scikit-learn pipeline: no extra
    assert manifest["evaluation"]["label_column"] == "decision" and manifest["evaluation"]["rows"] == 60
    assert set(manifest["evaluation"]["globals"]) == {"shap", "pfi", "mimic"}
    Manifest.model_validate(manifest)

    loaded = scorers.load(out)
    assert loaded.evaluation is not None and loaded.evaluation.frame is None  # rows are read on demand
    frame2, labels2 = loaded.eval_data
    pd.testing.assert_frame_equal(frame2, frame)  # strings, numbers and missing values as they were
    assert labels2.tolist() == labels.tolist()
    for kind in ("shap", "pfi", "mimic"):
        assert loaded.explain_global(kind=kind).to_json() == results[kind].to_json()
    assert loaded.explain_global().n_rows == 60  # the stored shap global is the evaluation rows' one
    # the stored pfi is what the loaded model computes again on the stored rows
    again = loaded.explain_global(frame2, kind="pfi", labels=labels2)
    np.testing.assert_array_equal(again.per_class, results["pfi"].per_class)


def test_numeric_labels_and_defaults(tmp_path: Path) -> None:
    x, y = dataset("regression")
    explainer = scorers.fit(fitted_model("gb_regressor", "regression"), x.iloc[:150], **FAST)
    results = scorers.evaluate(explainer, x.iloc[150:].to_numpy(), labels=y[150:])
    assert set(results) == {"shap", "pfi"} and results["pfi"].output_space == "neg_mean_absolute_error"
    loaded = scorers.load(explainer.save(tmp_path / "r"))
    frame, labels = loaded.eval_data
    np.testing.assert_array_equal(labels, y[150:])
    assert loaded.manifest.evaluation.label_column == "label"
    np.testing.assert_array_equal(frame.to_numpy(), x.iloc[150:].to_numpy())


def test_without_labels_only_shap_and_no_pfi() -> None:
    x, _ = dataset("binary")
    explainer = scorers.fit(fitted_model("forest", "binary"), x.iloc[:100], **FAST)
    assert set(scorers.evaluate(explainer, x.iloc[100:140])) == {"shap"}
    assert explainer.eval_data[1] is None and explainer.manifest.evaluation.label_column is None
    with pytest.raises(InputError, match="permutation importance needs labels") as e:
        scorers.evaluate(explainer, x.iloc[100:140], kinds=["pfi"])
    assert e.value.field == "eval_target"
    with pytest.raises(InputError, match="target column 'y' is not in the evaluation data"):
        scorers.evaluate(explainer, x.iloc[100:140], target="y")
    with pytest.raises(InputError, match="unknown kind 'lime'"):
        scorers.evaluate(explainer, x.iloc[100:140], kinds=["lime"])
    with pytest.raises(InputError, match="expected 40 labels"):
        scorers.evaluate(explainer, x.iloc[100:140], labels=[0, 1])
    with pytest.raises(InputError, match="field 'x4'|x4"):
        scorers.evaluate(explainer, x.iloc[100:140].drop(columns=["x4"]))


def test_artifacts_without_evaluation_load_as_before(tmp_path: Path) -> None:
    x, y = dataset("binary")
    explainer = scorers.fit(fitted_model("forest", "binary"), x.iloc[:100], **FAST)
    out = explainer.save(tmp_path / "old")
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluation"] is None
    # an artifact written before these fields existed (no kind, extras, info, evaluation)
    for key in ("kind", "extras", "info"):
        manifest["global_explanation"].pop(key)
    manifest.pop("evaluation")
    (out / "manifest.json").write_text(json.dumps(manifest))
    loaded = scorers.load(out)
    assert loaded.eval_data is None and loaded.explain_global().kind == "shap"
    with pytest.raises(InputError, match="no stored 'pfi' global explanation; package it with --eval-data"):
        loaded.explain_global(kind="pfi")
    assert loaded.explain_global(x.iloc[100:120], kind="pfi", labels=y[100:120]).n_rows == 20


def test_a_modified_evaluation_file_is_refused(tmp_path: Path) -> None:
    x, y = dataset("binary")
    explainer = scorers.fit(fitted_model("forest", "binary"), x.iloc[:100], **FAST)
    scorers.evaluate(explainer, x.iloc[100:130], labels=y[100:130])
    out = explainer.save(tmp_path / "t")
    loaded = scorers.load(out)
    labels = np.load(out / "eval.labels.npy", allow_pickle=False)
    labels[0] = 1 - labels[0]
    np.save(out / "eval.labels.npy", labels)
    with pytest.raises(ArtifactError, match="eval.labels.npy"):
        loaded.eval_data  # noqa: B018 - read on demand, checked again
    with pytest.raises(ArtifactError, match="eval.labels.npy"):
        scorers.load(out)


def test_parquet_rows_of_older_artifacts_are_read_and_saved_as_columns(tmp_path: Path) -> None:
    """An artifact packaged before the columns kept its rows as Parquet: read (pyarrow) with the same rows
    and labels, needs the parquet extra, and saved again as columns, which need no pyarrow."""
    from scorers.model_io import sha256_file

    pipe, rows = loan()
    x, y = loan_data()
    explainer = scorers.fit(pipe, rows, **FAST)
    test = x.iloc[1500:1530].reset_index(drop=True).assign(decision=y.iloc[1500:1530].to_numpy())
    scorers.evaluate(explainer, test, target="decision", kinds=["shap"])
    frame, labels = explainer.eval_data
    out = explainer.save(tmp_path / "old")
    manifest = json.loads((out / "manifest.json").read_text())
    for name in [p.name for p in out.glob("eval.*")]:
        (out / name).unlink()
        del manifest["files"][name]
    frame.assign(decision=labels).to_parquet(out / "eval.parquet", index=False)
    manifest["evaluation"]["file"] = "eval.parquet"
    manifest["files"]["eval.parquet"] = sha256_file(out / "eval.parquet")
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert "parquet" in runtime_packages.needed(Manifest.model_validate(manifest))

    loaded = scorers.load(out)
    frame2, labels2 = loaded.eval_data
    pd.testing.assert_frame_equal(frame2, frame)
    assert labels2.tolist() == labels.tolist()
    again = scorers.load(loaded.save(out))
    assert sorted(p.name for p in out.glob("eval.*")) == sorted(
        ["eval.json", "eval.numbers.npy", "eval.codes.npy", "eval.check_rows.npy", "eval.labels.npy"]
        + ["eval.order.npy", "eval.rank.npy"]
    )
    assert again.manifest.evaluation is not None and again.manifest.evaluation.file == "eval.json"
    pd.testing.assert_frame_equal(again.eval_data[0], frame)
    assert again.eval_data[1].tolist() == labels.tolist()
    assert "parquet" not in runtime_packages.needed(again.manifest)  # saved again: no pyarrow needed


def test_rows_and_their_columns_are_read_without_pyarrow(tmp_path: Path) -> None:
    """The serving image of a model packaged with --eval-data has no pyarrow: in a process where pyarrow
    cannot be imported, the artifact loads, its rows and labels read back and the columns map."""
    import os
    import subprocess
    import sys

    pipe, rows = loan()
    x, y = loan_data()
    explainer = scorers.fit(pipe, rows, **FAST)
    scorers.evaluate(explainer, x.iloc[1500:1540], labels=y.iloc[1500:1540].to_numpy(), kinds=["shap"])
    out = explainer.save(tmp_path / "lean")
    child = f"""
import importlib.abc, json, sys

class NoPyarrow(importlib.abc.MetaPathFinder):  # as if not installed (a None entry confuses sklearn)
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] == "pyarrow":
            raise ModuleNotFoundError("No module named 'pyarrow'", name=name)
        return None

sys.meta_path.insert(0, NoPyarrow())
import scorers
loaded = scorers.load({str(out)!r})
frame, labels = loaded.eval_data
cols = loaded.evaluation.columns()
table = loaded.eval_predictions()
print(json.dumps([len(frame), labels.tolist(), cols.n_rows, table.source, "pyarrow" in sys.modules]))
"""
    env = {**os.environ, "PYTHONPATH": str(Path(scorers.__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", child], env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    n, labels, mapped, source, imported = json.loads(proc.stdout.strip().splitlines()[-1])
    assert (n, mapped, source, imported) == (40, 40, "stored", False)
    assert labels == y.iloc[1500:1540].tolist()


def test_a_loaded_artifact_saves_over_itself(tmp_path: Path) -> None:
    from scorers.interpret import load, save

    x, y = dataset("binary")
    explainer = scorers.fit(fitted_model("forest", "binary"), x.iloc[:100], **FAST)
    scorers.evaluate(explainer, x.iloc[100:130], labels=y[100:130])
    out = tmp_path / "same"
    explainer.save(out)
    loaded = load(out)
    save(loaded, directory=out, exist_ok=True)  # its rows are read before the old files go
    frame, labels = scorers.load(out).eval_data
    np.testing.assert_array_equal(labels, y[100:130])
    np.testing.assert_array_equal(frame.to_numpy(), x.iloc[100:130].to_numpy())


# ----------------------------------------------------------------- predictions stored at packaging
def test_predictions_are_stored_at_packaging_and_used_once_checked(tmp_path: Path) -> None:
    pipe, rows = loan()
    x, y = loan_data()
    explainer = scorers.fit(pipe, rows, **FAST)
    test = x.iloc[1500:1800].reset_index(drop=True)
    scorers.evaluate(explainer, test, labels=y.iloc[1500:1800].to_numpy(), kinds=["shap"])
    out = explainer.save(tmp_path / "p")
    manifest = json.loads((out / "manifest.json").read_text())
    ev = manifest["evaluation"]
    names = [ev["predictions_file"], ev["probabilities_file"]]
    assert names == ["eval_predictions.npy", "eval_probabilities.npy"]
    assert all(name in manifest["files"] for name in names)
    codes, proba = (np.load(out / name, allow_pickle=False) for name in names)  # no objects
    assert codes.dtype == np.int64 and proba.dtype == np.float64 and proba.shape == (300, 2)

    loaded = scorers.load(out)
    table = loaded.eval_predictions()
    assert table is not None and table.source == "stored"
    frame, _ = loaded.eval_data
    assert table.labels.tolist() == loaded.predict_frame(frame).tolist()  # every row, not only the checked
    np.testing.assert_allclose(table.proba, loaded.predict_proba_frame(frame), rtol=0, atol=1e-12)


def test_stored_predictions_the_model_disagrees_with_are_predicted_again(tmp_path: Path) -> None:
    x, y = dataset("binary")
    explainer = scorers.fit(fitted_model("forest", "binary"), x.iloc[:100], **FAST)
    scorers.evaluate(explainer, x.iloc[100:160], labels=y[100:160], kinds=["shap"])
    assert explainer.evaluation is not None and explainer.evaluation.predictions is not None
    labels, proba = explainer.evaluation.predictions
    classes = explainer.classes
    flipped = np.array([classes[1] if v == classes[0] else classes[0] for v in labels], dtype=object)
    # as if another library version had written them
    explainer.evaluation.predictions = (flipped, 1.0 - proba)
    loaded = scorers.load(explainer.save(tmp_path / "stale"))
    table = loaded.eval_predictions()
    assert table is not None and table.source == "recomputed"
    frame, _ = loaded.eval_data
    assert table.labels.tolist() == loaded.predict_frame(frame).tolist()
    np.testing.assert_allclose(table.proba, loaded.predict_proba_frame(frame), rtol=0, atol=1e-12)


def test_predictions_of_other_library_versions_are_predicted_again(tmp_path: Path) -> None:
    from scorers import bulk

    x, y = dataset("binary")
    explainer = scorers.fit(fitted_model("forest", "binary"), x.iloc[:100], **FAST)
    scorers.evaluate(explainer, x.iloc[100:160], labels=y[100:160], kinds=["shap"])
    out = explainer.save(tmp_path / "v")
    manifest = json.loads((out / "manifest.json").read_text())
    versions = manifest["evaluation"]["predictions_versions"]
    assert versions == bulk.prediction_versions(explainer) and "scikit-learn" in versions
    assert scorers.load(out).eval_predictions().source == "stored"  # type: ignore[union-attr]

    def served(edit: dict[str, object]) -> bulk.TablePredictions:
        (out / "manifest.json").write_text(json.dumps({**manifest, "evaluation": edit}))
        table = scorers.load(out).eval_predictions()
        assert table is not None
        frame, _ = explainer.eval_data
        assert table.labels.tolist() == explainer.predict_frame(frame).tolist()
        return table

    other = {**versions, "scikit-learn": "0.24.2"}  # as if packaged under another scikit-learn
    assert served({**manifest["evaluation"], "predictions_versions": other}).source == "recomputed"
    # an artifact written before the versions were recorded: only the rows are checked
    older = {k: v for k, v in manifest["evaluation"].items() if k != "predictions_versions"}
    assert served(older).source == "stored"


def test_regressor_predictions_and_artifacts_without_them(tmp_path: Path) -> None:
    x, y = dataset("regression")
    explainer = scorers.fit(fitted_model("gb_regressor", "regression"), x.iloc[:150], **FAST)
    scorers.evaluate(explainer, x.iloc[150:], labels=y[150:], kinds=["shap"])
    out = explainer.save(tmp_path / "r")
    table = scorers.load(out).eval_predictions()
    assert table is not None and table.source == "stored" and table.proba is None
    np.testing.assert_array_equal(table.labels, explainer.predict_frame(explainer.eval_data[0]))

    # an artifact written before predictions were stored: they are computed when asked for
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["evaluation"].pop("predictions_file")
    del manifest["files"]["eval_predictions.npy"]
    (out / "eval_predictions.npy").unlink()
    (out / "manifest.json").write_text(json.dumps(manifest))
    table = scorers.load(out).eval_predictions()
    assert table is not None and table.source == "computed"
    np.testing.assert_array_equal(table.labels, explainer.predict_frame(explainer.eval_data[0]))
