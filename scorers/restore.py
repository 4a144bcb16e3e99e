"""Rebuild a saved explainer from its artifact directory: the manifest read and every file verified
first (``scorers.artifact``), then the runtime, the masking, the background and the coalition runtime
replayed, and the same ``assemble`` that packaging calls.

Apart from ``scorers/artifact.py`` (which writes the directory and reads its manifest) because it builds
the facade, and the facade's ``save`` writes through ``artifact``: one module doing both would import
the facade and be imported by it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import evaluation, runtime_packages
from .artifact import read_manifest, verify
from .assemble import assemble
from .background import Background
from .choose import build_masking
from .errors import ArtifactError
from .explanation_objects import GlobalExplanation
from .input_schema import CATEGORY, Schema
from .model_io import load_model
from .monitoring import baseline as monitoring
from .runtimes import CLASSIFIER, coalitions, name_classes
from .scoring_explainer import ScoringExplainer


def _raw_frame(records: list[dict[str, Any]], schema: Schema) -> pd.DataFrame:
    frame = pd.DataFrame(records, columns=schema.names)
    for f in schema.features:
        if f.dtype == CATEGORY:
            frame[f.name] = frame[f.name].astype(object).where(frame[f.name].notna(), np.nan)
        else:
            frame[f.name] = frame[f.name].astype(np.float64)
    return frame


def load(
    directory: str | Path, *, trust_pickle: bool = False, expected_sha256: str | None = None
) -> ScoringExplainer:
    root = Path(directory)
    manifest = read_manifest(root)
    verify(root, manifest)
    runtime_packages.check(manifest)  # a missing optional package: refused here, named, not at a request
    info = manifest.model
    schema = Schema(manifest.features)
    assert info.file is not None and info.format is not None  # manifest_io.parse requires them
    runtime = load_model(
        root,
        file=info.file,
        fmt=info.format,
        schema=schema,
        classes=info.labels if info.labels is not None else info.classes,
        skops_trusted_types=info.skops_trusted_types,
        trust_pickle=trust_pickle,
        expected_sha256=expected_sha256,
        runtime=info.prediction_runtime,
        task=info.task,
    )
    if info.labels is not None and info.classes is not None:
        name_classes(runtime, info.classes)
    with np.load(root / "explainer.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    m = manifest.masking
    masking = build_masking(runtime, schema, m.mode, np.asarray(m.column_group), m.encoded_names)
    raw_bg = _raw_frame(json.loads((root / manifest.background.file).read_text()), schema)
    encoded = arrays.get("background.encoded")
    bg = Background(
        raw_bg,
        masking.encode(raw_bg) if encoded is None else encoded,
        arrays["background.weights"],
        manifest.background.method,
        manifest.background.source_rows,
    )
    n_classes = len(runtime.classes) if runtime.task == CLASSIFIER else 1
    onnx_head = (root / info.onnx_head_file).read_bytes() if info.onnx_head_file else None
    head = runtime.encoder(m.mode)[1]
    fn = coalitions.replay(
        info.coalition_runtime, runtime, head, m.mode, manifest.output_space, n_classes, onnx_head
    )
    glob = (
        GlobalExplanation.from_json(manifest.global_explanation.model_dump())
        if manifest.global_explanation
        else None
    )
    sample = None
    if (root / "sample.json").is_file():
        sample = pd.DataFrame(json.loads((root / "sample.json").read_text()), columns=schema.names)
    state = {k[len("scorer.") :]: v for k, v in arrays.items() if k.startswith("scorer.")}
    explainer = assemble(
        runtime,
        schema,
        masking,
        bg,
        manifest,
        fn,
        state=state,
        global_explanation=glob,
        sample=sample,
        onnx_head=onnx_head,
    )
    explainer.evaluation = evaluation.read(root, manifest, schema)
    if manifest.monitoring is not None:
        if manifest.monitoring.file not in manifest.files:
            raise ArtifactError(
                f"manifest.json field 'monitoring.file': '{manifest.monitoring.file}' is not a listed file"
            )
        explainer.baseline = monitoring.load(root / manifest.monitoring.file)
    return explainer
