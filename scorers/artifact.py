"""The artifact: a directory with the model, the explainer state and ``manifest.json``.

``manifest.json`` is the only contract between packaging and serving (schema in docs/artifact.md).
Explainer state is plain arrays (``explainer.npz``, loaded with ``allow_pickle=False``) and JSON; the
native model is skops when skops can hold it, else a joblib pickle that loads only on an explicit trust
choice or a matching sha256.  Every file's sha256 is in the manifest and is verified on load.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .anchor import anchor_plan
from .background import Background
from .base import REGISTRY, FitContext
from .errors import ArtifactError, UntrustedModelError
from .explainer import FitReport, ScoringExplainer, encoder_for
from .explanation import GlobalExplanation
from .fastpaths import fast_output_fn
from .masking import Game, Masking
from .model import CLASSIFIER, NativeModel, OnnxModel, estimator_output, raw_frame
from .onnx_export import onnx_output_fn
from .schema import CATEGORY, Feature, Schema

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _versions() -> dict[str, str]:
    import importlib.metadata as md

    out = {"python": platform.python_version()}
    for pkg in (
        "shapserve",
        "numpy",
        "pandas",
        "scikit-learn",
        "shap",
        "onnxruntime",
        "skl2onnx",
        "skops",
        "bentoml",
    ):
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


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


# --------------------------------------------------------------------------------------------------
# save
# --------------------------------------------------------------------------------------------------
def _save_native(model: Any, directory: Path) -> tuple[str, str, bool]:
    """(file name, format, is_pickle): skops if it round-trips faithfully, else joblib."""
    try:
        import skops.io as sio

        path = directory / "model.skops"
        sio.dump(model, path)
        untrusted = sio.get_untrusted_types(file=path)
        sio.load(path, trusted=untrusted)  # must load back
        return path.name, "skops", False
    except Exception:  # noqa: BLE001 - any skops limitation means: fall back to a pickle
        import joblib

        (directory / "model.skops").unlink(missing_ok=True)
        path = directory / "model.joblib"
        joblib.dump(model, path)
        return path.name, "joblib", True


def save(explainer: ScoringExplainer, directory: str | Path) -> Path:
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    report = explainer.report
    model_info: dict[str, Any] = {
        "task": explainer.task,
        "classes": [_jsonable(c) for c in explainer.classes] if explainer.classes is not None else None,
        "prediction_runtime": report.prediction_runtime,
        "coalition_runtime": report.coalition_runtime,
        "onnx_export": report.onnx,
        "fast_path": report.fast_path,
    }
    wrapped = explainer.model
    if isinstance(wrapped, OnnxModel):
        path = out / "model.onnx"
        path.write_bytes(wrapped.model_bytes)
        model_info.update(file=path.name, format="onnx", pickle=False, type="onnx")
    else:
        name, fmt, is_pickle = _save_native(wrapped.model, out)
        model_info.update(file=name, format=fmt, pickle=is_pickle, type=type(wrapped.model).__name__)
        if fmt == "skops":
            import skops.io as sio

            model_info["skops_trusted_types"] = sio.get_untrusted_types(file=out / name)
    if explainer.onnx_head is not None:
        (out / "head.onnx").write_bytes(explainer.onnx_head)
        model_info["onnx_head_file"] = "head.onnx"

    scorer = explainer.scorer
    arrays = {f"scorer.{k}": np.asarray(v) for k, v in scorer.state().items()}
    bg = explainer.background
    arrays["background.weights"] = bg.weights
    if bg.encoded.dtype != object:
        arrays["background.encoded"] = bg.encoded.astype(np.float64)
    np.savez(out / "explainer.npz", **arrays)  # type: ignore[arg-type]
    (out / "background.json").write_text(json.dumps(_records(bg.raw)))
    if explainer.sample is not None:
        (out / "sample.json").write_text(json.dumps(_records(explainer.sample)))

    manifest = {
        "schema_version": SCHEMA_VERSION,
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "model": model_info,
        "features": explainer.schema.to_json(),
        "masking": {
            "mode": explainer.masking.mode,
            "reason": report.mode_reason,
            "column_group": explainer.masking.column_group.tolist(),
            "encoded_names": explainer.masking.encoded_names,
        },
        "scorer": {
            "kind": scorer.name,
            "exact": scorer.exact,
            "requested": report.requested_scorer,
            "fallback": report.fallback,
            "params": {k: _jsonable(v) for k, v in scorer.params.items()},
            **({"n_coalitions": scorer.n_coalitions} if hasattr(scorer, "n_coalitions") else {}),
        },
        "output_space": report.output_space,
        "expected_values": np.asarray(scorer.base_values).tolist(),
        "background": {**report.background, "file": "background.json"},
        "global_explanation": explainer.global_explanation.to_json()
        if explainer.global_explanation
        else None,
        "checks": report.checks,
        "timings": report.timings,
        "versions": _versions(),
    }
    files = sorted(p.name for p in out.iterdir() if p.is_file() and p.name != MANIFEST)
    manifest["files"] = {name: sha256_file(out / name) for name in files}
    (out / MANIFEST).write_text(json.dumps(manifest, indent=2, default=_jsonable))
    return out


# --------------------------------------------------------------------------------------------------
# load
# --------------------------------------------------------------------------------------------------
def read_manifest(directory: str | Path) -> dict[str, Any]:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"no {MANIFEST} in '{directory}': not a shapserve artifact")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{MANIFEST} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    version = manifest.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ArtifactError(
            f"artifact schema version {version!r} is not supported (this shapserve reads version {SCHEMA_VERSION}); "
            "re-package the model with this version"
        )
    return manifest


def verify(directory: str | Path, manifest: dict[str, Any]) -> None:
    """Every file listed exists with its sha256; no file is unlisted."""
    root = Path(directory)
    listed = manifest.get("files") or {}
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


def _load_native(root: Path, info: dict[str, Any], trust_pickle: bool, expected_sha256: str | None) -> Any:
    path = root / info["file"]
    if info["format"] == "skops":
        import skops.io as sio

        untrusted = sio.get_untrusted_types(file=path)
        allowed = set(info.get("skops_trusted_types") or [])
        unexpected = [t for t in untrusted if t not in allowed]
        if unexpected:
            raise UntrustedModelError(
                f"'{path.name}' holds types the packaging step did not record: {unexpected[:5]}"
            )
        return sio.load(path, trusted=untrusted)
    if info["format"] == "joblib":
        digest = sha256_file(path)
        if not trust_pickle and (expected_sha256 is None or expected_sha256.lower() != digest):
            raise UntrustedModelError(
                f"'{path.name}' is a pickle, and a pickle is code: loading it runs whatever its author put in it. "
                f"Load it only if you trust its source: pass trust_pickle=True (SHAPSERVE_TRUST_PICKLE=true) or "
                f"its sha256 ({digest})"
            )
        import joblib

        return joblib.load(path)
    raise ArtifactError(f"unknown model format '{info['format']}' in the manifest")


def load(
    directory: str | Path, *, trust_pickle: bool = False, expected_sha256: str | None = None
) -> ScoringExplainer:
    root = Path(directory)
    manifest = read_manifest(root)
    verify(root, manifest)
    info = manifest["model"]
    features = [Feature.from_json(f) for f in manifest["features"]]
    schema = Schema(features)
    classes = info.get("classes")
    if info["format"] == "onnx":
        wrapped: NativeModel | OnnxModel = OnnxModel((root / info["file"]).read_bytes(), schema, classes)
    else:
        wrapped = NativeModel(_load_native(root, info, trust_pickle, expected_sha256), schema)
    with np.load(root / "explainer.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    raw_bg = pd.DataFrame(json.loads((root / "background.json").read_text()), columns=schema.names)
    for f in features:
        if f.dtype == CATEGORY:
            raw_bg[f.name] = raw_bg[f.name].astype(object).where(raw_bg[f.name].notna(), np.nan)
        else:
            raw_bg[f.name] = raw_bg[f.name].astype(np.float64)
    mask_info = manifest["masking"]
    encode, head = encoder_for(wrapped, mask_info["mode"])
    masking = Masking(
        mask_info["mode"],
        schema.names,
        np.asarray(mask_info["column_group"], dtype=np.int64),
        mask_info["encoded_names"],
        encode,
    )
    encoded = arrays.get("background.encoded")
    if encoded is None:
        encoded = masking.encode(raw_bg)
    bg = Background(
        raw_bg,
        encoded,
        arrays["background.weights"],
        manifest["background"]["method"],
        manifest["background"]["source_rows"],
    )
    space = manifest["output_space"]
    n_classes = len(classes) if info["task"] == CLASSIFIER else 1
    fn = _coalition_function(root, info, wrapped, head, masking, space, n_classes)
    game = Game(masking, fn, bg.encoded, bg.weights)
    sc = manifest["scorer"]
    scorer = REGISTRY[sc["kind"]](**sc["params"])
    ctx = FitContext(masking, game, head, space, info["task"], n_classes, masking.mode)
    if sc["params"].get("anchor"):
        ctx.anchor = anchor_plan(
            head, info["task"], space, masking.mode, n_classes, info["coalition_runtime"], fn
        )
    scorer.set_state(ctx, {k[len("scorer.") :]: v for k, v in arrays.items() if k.startswith("scorer.")})
    report = FitReport(
        scorer=sc["kind"],
        requested_scorer=sc.get("requested", "auto"),
        output_space=space,
        fallback=sc.get("fallback"),
        mode=mask_info["mode"],
        mode_reason=mask_info.get("reason", ""),
        coalition_runtime=info["coalition_runtime"],
        prediction_runtime=info["prediction_runtime"],
        onnx=info.get("onnx_export", {}),
        fast_path=info.get("fast_path", {}),
        background=manifest["background"],
        checks=manifest["checks"],
        timings=manifest.get("timings", {}),
    )
    glob = (
        GlobalExplanation.from_json(manifest["global_explanation"])
        if manifest.get("global_explanation")
        else None
    )
    sample = None
    if (root / "sample.json").is_file():
        sample = pd.DataFrame(json.loads((root / "sample.json").read_text()), columns=schema.names)
    onnx_head = (root / info["onnx_head_file"]).read_bytes() if info.get("onnx_head_file") else None
    return ScoringExplainer(wrapped, schema, masking, scorer, bg, report, glob, sample, onnx_head, manifest)


def _coalition_function(
    root: Path, info: dict[str, Any], wrapped: Any, head: Any, masking: Masking, space: str, n_classes: int
) -> Any:
    if isinstance(wrapped, OnnxModel):
        return wrapped.output_fn(space, masking.mode, wrapped.schema)
    if masking.mode == "raw":
        schema = wrapped.schema
        return lambda h: estimator_output(wrapped.model, space, wrapped.task, n_classes)(
            wrapped.model_input(raw_frame(h, schema))
        )
    if info["coalition_runtime"] == "onnxruntime":
        return onnx_output_fn((root / info["onnx_head_file"]).read_bytes(), wrapped.task, space)
    fast = fast_output_fn(head, space)
    if fast is not None and info["coalition_runtime"] == fast[0]:
        return fast[1]
    return estimator_output(head, space, wrapped.task, n_classes)
