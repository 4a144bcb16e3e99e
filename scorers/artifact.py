"""The artifact: a directory with the model, the explainer state and ``manifest.json``.

``manifest.json`` (scorers.manifest) is the only contract between packaging and serving (docs/artifact.md).
Explainer state is plain arrays (``explainer.npz``, loaded with ``allow_pickle=False``) and JSON; the
model file follows scorers.model_io's trust policy.  Every file's sha256 is in the manifest and is
verified on load, before anything is read; loading (``scorers/restore.py``) builds the explainer.
"""

from __future__ import annotations

import datetime as _dt
import json
import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import evaluation
from . import manifest as manifest_io
from .errors import ArtifactError
from .manifest import MANIFEST, Manifest
from .model_io import save_model, sha256_file
from .monitoring import baseline as monitoring

if TYPE_CHECKING:
    from .scoring_explainer import ScoringExplainer

_VERSIONED = (
    "shapserve",
    "numpy",
    "pandas",
    "scikit-learn",
    "shap",  # not used by the engine; recorded when present (the reference the tests compare with)
    "onnxruntime",
    "skl2onnx",
    "skops",
    "bentoml",
)


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in _VERSIONED:
        try:
            out[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            continue
    return out


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON objects, NaN as null: exactly what a client would POST."""
    return [
        {k: (None if (isinstance(v, float) and np.isnan(v)) else v) for k, v in row.items()}
        for row in frame.to_dict("records")
    ]


# --------------------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------------------
def save(explainer: ScoringExplainer, directory: str | Path) -> Path:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    manifest = explainer.manifest.model_copy(deep=True)
    model = manifest.model
    for key, value in save_model(explainer.runtime, out).items():
        setattr(model, key, value)
    if explainer.onnx_head is not None:
        (out / "head.onnx").write_bytes(explainer.onnx_head)
        model.onnx_head_file = "head.onnx"

    arrays = {f"scorer.{k}": np.asarray(v) for k, v in explainer.scorer.state().items()}
    bg = explainer.background
    arrays["background.weights"] = bg.weights
    if bg.encoded.dtype != object:
        arrays["background.encoded"] = bg.encoded.astype(np.float64)
    np.savez(out / "explainer.npz", **arrays)  # type: ignore[arg-type]
    (out / "background.json").write_text(json.dumps(_records(bg.raw)))
    if explainer.sample is not None:
        (out / "sample.json").write_text(json.dumps(_records(explainer.sample)))
    evaluation.write(explainer, out, manifest.evaluation)
    if explainer.baseline is not None:
        explainer.baseline.save(out)
        manifest.monitoring = monitoring.section(explainer.baseline)

    manifest.created = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    manifest.versions = _versions()
    files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest.files = {name: sha256_file(out / name) for name in files}
    (out / MANIFEST).write_text(manifest.to_json())
    explainer.manifest = manifest
    return out


# --------------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------------
def read_manifest(directory: str | Path) -> Manifest:
    return manifest_io.read(directory)


def verify(directory: str | Path, manifest: Manifest) -> None:
    """Every file listed exists with its sha256; no file is unlisted."""
    root = Path(directory)
    listed = manifest.files
    for name, digest in listed.items():
        path = root / name
        if not path.is_file():
            raise ArtifactError(f"artifact file '{name}' is missing")
        actual = sha256_file(path)
        if actual != digest:
            raise ArtifactError(
                f"artifact file '{name}' fails its checksum (sha256 {actual[:12]}..., manifest says {digest[:12]}...): "
                "it was modified or truncated"
            )
    extra = sorted(
        p.name for p in root.iterdir() if p.is_file() and p.name != MANIFEST and p.name not in listed
    )
    if extra:
        raise ArtifactError(f"artifact holds a file the manifest does not list: '{extra[0]}'")
