"""The rooms: one registry for scorer kinds, one manifest model, docs read off both."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scorer_support import dataset, fitted_model

import scorers
from cli.main import parser
from scorers.kinds import REGISTRY, auto_order
from scorers.kinds.exact import ExactScorer

ROOT = Path(__file__).resolve().parents[2]


def test_generated_docs_are_current() -> None:
    proc = subprocess.run(
        [sys.executable, "docs/generate.py", "--check"], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


def test_cli_choices_come_from_the_registry() -> None:
    action = next(
        a
        for a in parser()._subparsers._group_actions[0].choices["package"]._actions  # type: ignore[union-attr]
        if a.dest == "scorer"
    )
    assert list(action.choices) == ["auto", *REGISTRY]


def test_a_new_kind_is_one_registered_class() -> None:
    """Registering a class is all it takes: auto tries it by rank, the CLI offers it, fit uses it."""

    class FirstExact(ExactScorer):
        name = "first_exact"
        auto_rank = 1

    REGISTRY["first_exact"] = FirstExact
    try:
        assert auto_order()[0] == "first_exact"
        x, _ = dataset("binary")
        explainer = scorers.fit(fitted_model("mlp", "binary"), x, eval_size=5, background_size=8)
        assert explainer.manifest.scorer.kind == "first_exact"
        assert explainer.manifest.checks is not None
        assert explainer.manifest.checks.additivity_max_abs_error < 1e-9
    finally:
        del REGISTRY["first_exact"]
    assert "first_exact" not in auto_order()


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, _ = dataset("binary")
    explainer = scorers.fit(fitted_model("logistic", "binary"), x, eval_size=5, background_size=8)
    return explainer.save(tmp_path_factory.mktemp("structure") / "artifact")


def _rewrite(directory: Path, tmp: Path, edit: Any) -> Path:
    import shutil

    out = Path(shutil.copytree(directory, tmp / "copy"))
    manifest = json.loads((out / "manifest.json").read_text())
    edit(manifest)
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


@pytest.mark.parametrize(
    ("edit", "needle"),
    [
        (lambda m: m["model"].update(format="pickle5"), "model.format"),
        (lambda m: m["masking"].update(mode="sideways"), "masking.mode"),
        (lambda m: m.update(surprise=1), "surprise"),
        (lambda m: m["scorer"].pop("kind"), "scorer.kind"),
        (lambda m: m["model"].pop("file"), "model.file"),
        (lambda m: m.update(schema_version=2), "schema version 2"),
    ],
)
def test_a_wrong_manifest_is_refused_naming_the_field(
    artifact: Path, tmp_path: Path, edit: Any, needle: str
) -> None:
    with pytest.raises(scorers.ArtifactError, match=needle.replace(".", r"\.")):
        scorers.load(_rewrite(artifact, tmp_path, edit))


def test_the_manifest_model_is_what_save_writes_and_load_reads(artifact: Path) -> None:
    written = json.loads((artifact / "manifest.json").read_text())
    parsed = scorers.Manifest.model_validate(written)
    assert json.loads(parsed.to_json()) == written
    loaded = scorers.load(artifact)
    assert loaded.manifest == parsed
    rows = dataset("binary")[0].iloc[:3]
    assert np.array_equal(loaded.explain(rows).values, scorers.load(artifact).explain(rows).values)
