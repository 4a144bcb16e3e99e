"""The files of the evaluation rows' stored predictions (``scorers.evaluation``): ``.npy`` files a served
worker memory-maps (class positions or values, probabilities), checked when the artifact is loaded; an
artifact packaged before them, with one ``eval_predictions.npz``, still opens with the same predictions
and is saved over itself as ``.npy`` files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scorer_support import dataset, fitted_model

import scorers
from scorers.errors import ArtifactError
from scorers.interpret import load, save
from scorers.model_io import sha256_file

FAST = {"background_size": 10, "eval_size": 40, "onnx": False}


def _packaged(tmp_path: Path, kind: str = "binary") -> tuple[Any, Path]:
    x, y = dataset(kind)
    model = fitted_model("forest" if kind == "binary" else "gb_regressor", kind)
    explainer = scorers.fit(model, x.iloc[:100], **FAST)
    scorers.evaluate(explainer, x.iloc[100:160], labels=y[100:160], kinds=["shap"])
    return explainer, explainer.save(tmp_path / kind)


def _as_packaged_before(out: Path) -> None:
    """Rewrite an artifact's stored predictions as one ``eval_predictions.npz``, as packaged before."""
    manifest = json.loads((out / "manifest.json").read_text())
    ev = manifest["evaluation"]
    labels = np.load(out / ev["predictions_file"], allow_pickle=False)
    arrays = {"codes" if labels.dtype == np.int64 else "values": labels}
    if ev.get("probabilities_file"):
        arrays["probabilities"] = np.load(out / ev["probabilities_file"], allow_pickle=False)
    for key in ("predictions_file", "probabilities_file"):
        if ev.get(key):
            (out / ev[key]).unlink()
            del manifest["files"][ev.pop(key)]
    np.savez(out / "eval_predictions.npz", **arrays)  # type: ignore[arg-type]
    ev["predictions_file"] = "eval_predictions.npz"
    manifest["files"]["eval_predictions.npz"] = sha256_file(out / "eval_predictions.npz")
    (out / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_stored_predictions_are_mapped_npy_files(tmp_path: Path, kind: str) -> None:
    explainer, out = _packaged(tmp_path, kind)
    table = scorers.load(out).eval_predictions()
    assert table is not None and table.source == "stored"
    frame, _ = explainer.eval_data
    assert table.labels.tolist() == explainer.predict_frame(frame).tolist()
    if kind == "binary":
        assert table.codes is not None and isinstance(table.codes.base, np.memmap)
        assert table.proba is not None and isinstance(table.proba.base, np.memmap)
        np.testing.assert_array_equal(table.proba, explainer.predict_proba_frame(frame))
    else:
        assert table.proba is None and isinstance(table.labels.base, np.memmap)


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_an_artifact_packaged_with_the_npz_opens_and_saves_as_npy(tmp_path: Path, kind: str) -> None:
    explainer, out = _packaged(tmp_path, kind)
    expected = scorers.load(out).eval_predictions()
    assert expected is not None
    _as_packaged_before(out)
    table = scorers.load(out).eval_predictions()
    assert table is not None and table.source == "stored"
    assert table.labels.tolist() == expected.labels.tolist()
    if kind == "binary":
        np.testing.assert_array_equal(table.proba, expected.proba)
        np.testing.assert_array_equal(table.codes, expected.codes)
    save(load(out), directory=out, exist_ok=True)  # read before the old file goes
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["evaluation"]["predictions_file"] == "eval_predictions.npy"
    assert not (out / "eval_predictions.npz").exists()
    again = scorers.load(out).eval_predictions()
    assert again is not None and again.labels.tolist() == expected.labels.tolist()


def test_a_modified_predictions_file_is_refused(tmp_path: Path) -> None:
    _, out = _packaged(tmp_path)
    codes = np.load(out / "eval_predictions.npy")
    np.save(out / "eval_predictions.npy", 1 - codes)
    with pytest.raises(ArtifactError, match="eval_predictions.npy"):
        scorers.load(out)  # every listed file's sha256 is checked when the artifact is loaded


def test_predictions_that_do_not_fit_the_rows_are_refused(tmp_path: Path) -> None:
    _, out = _packaged(tmp_path)
    loaded = scorers.load(out)
    (out / "eval_predictions.npy").unlink()  # replaced after the load (the load's checksums passed)
    np.save(out / "eval_predictions.npy", np.full(60, 7, dtype=np.int64))  # no such class
    with pytest.raises(ArtifactError, match="positions in the model's classes"):
        loaded.eval_predictions()


def test_a_modified_npz_of_an_older_artifact_is_refused_when_read(tmp_path: Path) -> None:
    _, out = _packaged(tmp_path)
    _as_packaged_before(out)
    loaded = scorers.load(out)
    with np.load(out / "eval_predictions.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    arrays["codes"][0] = 1 - arrays["codes"][0]
    np.savez(out / "eval_predictions.npz", **arrays)  # type: ignore[arg-type]
    with pytest.raises(ArtifactError, match="eval_predictions.npz"):
        loaded.eval_predictions()  # read on demand, checked again
    with pytest.raises(ArtifactError, match="eval_predictions.npz"):
        scorers.load(out)
