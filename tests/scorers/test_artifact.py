"""Artifacts: a save/load round trip gives bit-identical explanations for every scorer kind; a tampered,
truncated, incomplete or unknown-version artifact is refused naming the file; a pickled model needs an
explicit trust choice or its sha256."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from scorer_support import CASES, dataset, fitted_explainer, held_out_rows

import scorers


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """name -> artifact directory, each case saved once per module."""
    root = tmp_path_factory.mktemp("artifacts")
    cache: dict[str, Path] = {}

    def get(name: str) -> Path:
        if name not in cache:
            cache[name] = fitted_explainer(name).save(root / name)
        return cache[name]

    return get


@pytest.fixture
def artifact(saved, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """A private copy of a small artifact, free to damage."""
    return Path(shutil.copytree(saved("linear-logistic-binary"), tmp_path / "artifact"))


@pytest.mark.parametrize("name", list(CASES))
def test_round_trip_is_bit_identical(name: str, saved) -> None:  # type: ignore[no-untyped-def]
    original = fitted_explainer(name)
    loaded = scorers.load(saved(name))
    assert loaded.scorer.name == original.scorer.name == CASES[name].scorer
    assert loaded.output_space == original.output_space and loaded.features == original.features
    assert loaded.schema.to_json() == original.schema.to_json()
    rows = held_out_rows(name)
    a, b = original.explain(rows), loaded.explain(rows)
    assert np.array_equal(a.values, b.values)
    assert np.array_equal(a.base_values, b.base_values)
    assert np.array_equal(a.outputs, b.outputs)
    assert np.array_equal(original.predict(rows), loaded.predict(rows))
    assert loaded.global_explanation is not None
    assert np.array_equal(loaded.global_explanation.per_class, original.global_explanation.per_class)


def _flip_byte(path: Path, offset: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if offset is None else offset
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("file", ["explainer.npz", "model.skops", "background.json"])
def test_flipped_byte_is_refused_naming_the_file(artifact: Path, file: str) -> None:
    scorers.load(artifact)  # intact: loads
    _flip_byte(artifact / file)
    with pytest.raises(scorers.ArtifactError, match=file.replace(".", r"\.")):
        scorers.load(artifact)


def test_truncated_file_is_refused(artifact: Path) -> None:
    path = artifact / "explainer.npz"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(scorers.ArtifactError, match=r"explainer\.npz.*(modified or truncated)"):
        scorers.load(artifact)


def test_truncated_manifest_is_refused(artifact: Path) -> None:
    path = artifact / "manifest.json"
    path.write_text(path.read_text()[:200])
    with pytest.raises(scorers.ArtifactError, match=r"manifest\.json"):
        scorers.load(artifact)


def test_missing_and_unlisted_files_are_refused(artifact: Path) -> None:
    (artifact / "background.json").rename(artifact / "extra.json")
    with pytest.raises(scorers.ArtifactError, match=r"background\.json.*missing"):
        scorers.load(artifact)
    (artifact / "extra.json").rename(artifact / "background.json")
    (artifact / "notes.txt").write_text("hello")
    with pytest.raises(scorers.ArtifactError, match=r"notes\.txt"):
        scorers.load(artifact)


def _edit_manifest(directory: Path, edit) -> None:  # type: ignore[no-untyped-def]
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text())
    edit(manifest)
    path.write_text(json.dumps(manifest))


def test_unknown_schema_version_is_refused(artifact: Path) -> None:
    _edit_manifest(artifact, lambda m: m.update(schema_version=999))
    with pytest.raises(scorers.ArtifactError, match="999"):
        scorers.load(artifact)
    _edit_manifest(artifact, lambda m: m.pop("schema_version"))
    with pytest.raises(scorers.ArtifactError, match="schema version"):
        scorers.load(artifact)


def test_skops_types_not_recorded_at_packaging_are_refused(saved, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The pipeline holds types skops does not trust by default; the manifest records them, and a file
    whose types are not all recorded is refused."""
    directory = Path(shutil.copytree(saved("pipeline-linear"), tmp_path / "pipe"))
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["model"]["format"] == "skops" and manifest["model"]["skops_trusted_types"]
    _edit_manifest(directory, lambda m: m["model"].update(skops_trusted_types=[]))
    with pytest.raises(scorers.UntrustedModelError, match=r"model\.skops"):
        scorers.load(directory)


# ------------------------------------------------------------------------------------------------
# pickled models
# ------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def pickled(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, scorers.ScoringExplainer]:
    """An artifact whose model skops cannot hold (a dict with tuple keys), so it is a joblib pickle."""
    from sklearn.linear_model import LogisticRegression

    x, y = dataset("binary")
    model = LogisticRegression().fit(x.to_numpy(), y)
    model.notes_ = {("x0", "x1"): "a dict with tuple keys: skops refuses it, pickle does not"}
    explainer = scorers.fit(model, x, background_size=12, eval_size=10)
    directory = explainer.save(tmp_path_factory.mktemp("pickled") / "artifact")
    return directory, explainer


def test_pickle_needs_trust(pickled) -> None:  # type: ignore[no-untyped-def]
    directory, _ = pickled
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["model"]["format"] == "joblib" and manifest["model"]["pickle"] is True
    assert (directory / "model.joblib").is_file() and not (directory / "model.skops").exists()
    with pytest.raises(scorers.UntrustedModelError, match=r"model\.joblib") as info:
        scorers.load(directory)
    assert isinstance(info.value, scorers.ArtifactError)
    wrong = "0" * 64
    digest = hashlib.sha256((directory / "model.joblib").read_bytes()).hexdigest()
    for trust in (False, True):  # a checksum given is checked, trusted or not
        with pytest.raises(scorers.UntrustedModelError, match=f"not the {wrong} pinned") as pinned:
            scorers.load(directory, expected_sha256=wrong, trust_pickle=trust)
        message = str(pinned.value)  # both digests, and no advice to pin the file's own
        assert f"its sha256 is {digest}, not the {wrong} pinned" in message and "pass" not in message, message
    assert "pinned" not in str(info.value)  # without a pin the message offers one


@pytest.mark.parametrize("how", ["trust_pickle", "sha256"])
def test_trusted_pickle_loads_bit_identical(pickled, how: str) -> None:  # type: ignore[no-untyped-def]
    directory, explainer = pickled
    if how == "trust_pickle":
        loaded = scorers.load(directory, trust_pickle=True)
    else:
        digest = hashlib.sha256((directory / "model.joblib").read_bytes()).hexdigest()
        loaded = scorers.load(directory, expected_sha256=digest.upper())
    rows = held_out_rows("linear-logistic-binary")
    assert np.array_equal(loaded.explain(rows).values, explainer.explain(rows).values)
    assert loaded.runtime.model.notes_ == explainer.runtime.model.notes_


def test_tampered_pickle_is_refused_even_when_trusted(pickled, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    directory = Path(shutil.copytree(pickled[0], tmp_path / "artifact"))
    _flip_byte(directory / "model.joblib", offset=-2)
    with pytest.raises(scorers.ArtifactError, match=r"model\.joblib"):
        scorers.load(directory, trust_pickle=True)
