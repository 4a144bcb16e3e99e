"""The artifact manifest: the one contract between packaging time and serving time.

This pydantic model is the only definition of ``manifest.json``.  ``fit`` fills it, ``save`` writes it
(adding ``created`` and the sha256 of every file), ``load`` validates it before reading anything else
and replays its decisions, and the service builds ``/metadata`` from it.  Its JSON Schema is generated
into ``docs/manifest.schema.json`` (``make docs``; a test keeps it current).

Versions: a reader accepts every schema version up to its own and refuses newer ones by name.  Fields
added by a newer version are optional, so older artifacts still validate; unknown keys are refused
(a typo or a hand edit must not be silently ignored).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_serializer

from .errors import ArtifactError
from .input_schema import Feature

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"

Label = str | int | float | bool


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ModelSection(_Section):
    """The user's model: what it is, how it is stored, and which runtimes evaluate it."""

    task: Literal["classifier", "regressor"]
    classes: list[Label] | None = Field(
        description="Class names in output order (the model's labels, or the names given with classes=); "
        "null for regressors."
    )
    labels: list[Label] | None = Field(
        None,
        description="The model's own class labels in output order when classes= named them (predictions "
        "are mapped to the names by position); null otherwise.",
    )
    prediction_runtime: str = Field(
        description="Backend behind /predict (sklearn, onnxruntime, lightgbm, xgboost, generic)."
    )
    coalition_runtime: str = Field(description="Model function on hybrid rows, chosen at fit by speed.")
    onnx_export: dict[str, Any] = Field(description="Outcome of the skl2onnx export of the head.")
    fast_path: dict[str, Any] = Field(default_factory=dict, description="A model-specific fast path.")
    file: str | None = Field(None, description="The model file (set when the artifact is saved).")
    format: Literal["skops", "joblib", "onnx", "lightgbm", "xgboost"] | None = Field(
        None, description="Set when saved: lightgbm = LightGBM model text, xgboost = XGBoost JSON."
    )
    pickle: bool = Field(False, description="The model file is a pickle: it loads only on trust or a sha256.")
    type: str = Field(description="The model's class name.")
    packages: list[str] | None = Field(
        None,
        description="Top-level Python packages of the objects the model is built from (a pipeline's steps "
        "included), recorded at packaging: serving needs them (scorers/runtime_packages.py); null: unknown.",
    )
    skops_trusted_types: list[str] | None = Field(None, description="Types recorded at packaging.")
    onnx_head_file: str | None = None


class MaskingSection(_Section):
    mode: Literal["identity", "grouped", "raw"]
    reason: str = ""
    column_group: list[int] = Field(description="The raw feature (player) of each encoded column.")
    encoded_names: list[str]


class KernelParams(_Section):
    """The ``kernel`` kind's constructor parameters (``scorer.params``), read by name."""

    n_coalitions: int | None = None
    seed: int = 0
    anchor: str | None = Field(
        None, description="The exact scorer the estimate is anchored on (scorers.kinds.anchor); null: none."
    )
    estimator: str | None = Field(
        None,
        description="The anchored estimate's slopes: 'secant' (each background row's secant slope, fixed; with "
        "0 coalitions the secant alone); null: least squares over the design (scorers.kinds.anchor).",
    )


class ScorerSection(_Section):
    kind: str = Field(description="A registered scorer kind (scorers.kinds.REGISTRY).")
    exact: bool
    requested: str = "auto"
    fallback: str | None = None
    params: dict[str, Any] = Field(default_factory=dict, description="The kind's constructor parameters.")
    n_coalitions: int | None = Field(None, description="Coalitions per row (design scorers).")

    def kernel_params(self) -> KernelParams | None:
        """``params`` typed, for the ``kernel`` kind (None for other kinds)."""
        return KernelParams.model_validate(self.params) if self.kind == "kernel" else None


class BackgroundSection(_Section):
    size: int
    method: str
    source_rows: int
    file: str = "background.json"


class MimicInfo(BaseModel):
    """The ``info`` of a ``mimic`` global explanation (GlobalSection.info, GlobalExplanation.info), read by
    name; further facts of a surrogate are kept as they are."""

    model_config = ConfigDict(extra="allow")

    surrogate: str | None = Field(None, description="The explainable model (scorers.global_explanations).")
    fidelity: dict[str, Any] | None = Field(None, description="How well the surrogate learns the model.")
    augmentations: int | None = None
    training_rows: int | None = None
    scorer: str | None = Field(None, description="The scorer kind explaining the surrogate.")


class GlobalSection(_Section):
    kind: Literal["shap", "pfi", "mimic"] = Field(
        "shap", description="shap (mean |SHAP|), pfi (permutation importance) or mimic (global surrogate)."
    )
    features: list[str]
    classes: list[Label] | None
    output_space: str = Field(description="The SHAP space; for pfi the metric whose drop is measured.")
    n_rows: int
    per_class: list[list[float]]
    ranked_names: list[str]
    ranked_values: list[float]
    extras: dict[str, list[list[float]]] = Field(
        default_factory=dict, description="Per-feature arrays of a kind, shaped like per_class (pfi: std)."
    )
    info: dict[str, Any] = Field(
        default_factory=dict, description="Facts of a kind: pfi metric and repeats, mimic fidelity."
    )


class EvaluationSection(_Section):
    """Evaluation rows stored with the artifact (``--eval-data``) and the global explanations on them."""

    file: str = Field(
        "eval.parquet",
        description="The rows (raw schema) and their labels: eval.json, the index of column-major .npy "
        "files a served worker memory-maps (numbers, category codes, labels, the rows stored predictions "
        "are checked on; no pickle, each file listed below); eval.parquet in artifacts packaged before "
        "them (reading it needs pyarrow).",
    )
    predictions_file: str | None = Field(
        None,
        description="The rows' predictions at packaging: class positions (int64) or values (float64), a "
        ".npy file a served worker memory-maps (eval_predictions.npz, class positions or values and "
        "probabilities without pickle, in artifacts packaged before), checked against the model on rows "
        "across the table before they are used; null: none stored, the rows are predicted when served.",
    )
    probabilities_file: str | None = Field(
        None,
        description="A classifier's stored probabilities (rows x classes, float64 .npy, memory-mapped) beside "
        "predictions_file; null: none stored, or kept in the .npz of an artifact packaged before.",
    )
    predictions_versions: dict[str, str] | None = Field(
        None,
        description="The library versions the stored predictions were made with; served under other "
        "versions, the rows are predicted again. null: not recorded (only the rows are checked).",
    )
    shap_sample_file: str | None = Field(
        None,
        description="SHAP values of the dashboard's sample of these rows (the first rows of a fixed random "
        "order), explained at packaging (.npy float64, rows x outputs x features); used when the stored "
        "predictions are and the explainer agrees on its first rows; null: explained when served.",
    )
    rows: int
    label_column: str | None = Field(None, description="The labels' column in the file; null: no labels.")
    globals: dict[str, GlobalSection] = Field(
        default_factory=dict, description="Global explanations computed on these rows, by kind."
    )


class ChecksSection(_Section):
    additivity_max_abs_error: float
    additivity_rows: int
    explain_ms_per_row_single: float
    explain_ms_per_row_batch: float
    max_abs_diff_vs_enumeration: float | None = None


class HoldoutSection(_Section):
    """The served explanations' error on evaluation rows (``--eval-data``): rows that no part of packaging
    fitted on, so the figure a new row should expect."""

    rel_mae_vs_full_data: float = Field(
        description="mean |served - full-data SHAP value| / mean |full-data value| on the rows checked"
    )
    rows_checked: int
    rows: list[int] = Field(description="Positions of the rows checked among the evaluation rows.")
    uncertainty: float | None = Field(
        None, description="Standard error of a sampled reference, relative to its mean |value|."
    )


class FidelitySection(_Section):
    """How far the served explanations are from the full-data ones (scorers.fidelity; docs/fidelity.md)."""

    rel_mae_vs_full_data: float = Field(
        description="mean |served - full-data SHAP value| / mean |full-data value| on the statement rows "
        "(statement_rows; else the checked rows)"
    )
    rows_checked: int = Field(description="Rows the error is stated on.")
    method: str = Field(description="How the error and its reference were computed.")
    statement_rows: list[int] | None = Field(
        None,
        description="Positions among the training rows of the rows the error is stated on: rows apart "
        "from the calibration and the checked rows, which chose nothing (decision 55); null when there "
        "were too few training rows (the checked rows state it) or the served values are exact.",
    )
    reference_rows: int = Field(description="Training rows the reference is taken against.")
    training_rows: int
    background_rows: int = Field(description="Rows of the served background.")
    calibrated: bool = Field(False, description="The background's weights were fitted to the full data.")
    uncertainty: float | None = Field(
        None, description="Standard error of a sampled reference, relative to its mean |value|."
    )
    max_error: float | None = Field(None, description="The target asked for at packaging, if any.")
    latency_budget_ms: float | None = Field(None, description="The budget asked for at packaging, if any.")
    seconds: float | None = Field(None, description="Time the measurement took at packaging.")
    holdout: HoldoutSection | None = Field(
        None,
        description="The same error on evaluation rows (--eval-data), held out of every fit; null when the "
        "model was packaged without evaluation rows.",
    )
    estimators: dict[str, float] | None = Field(
        None,
        description="Black-box estimators measured at packaging (scorer kind -> error on the checked rows, "
        "equal model evaluations per row, or permutation's pairs by its chain path in the same time: "
        "scorer.params.chain); the served kind is the smallest (scorers.fidelity.estimator).",
    )


class MonitoringSection(_Section):
    """The drift monitor's baseline (scorers.monitoring; docs/monitoring.md)."""

    file: str = Field("monitoring.npz", description="Bins and baseline counts (.npz without pickle).")
    source: Literal["evaluation", "training"] = Field(
        description="The rows it was built from: the evaluation rows, else the fit-time checks' rows."
    )
    rows: int = Field(description="Rows explained for it.")
    bins: int = Field(description="Bins per feature and per (class, feature) attribution.")


class CounterfactualsSection(_Section):
    """What counterfactual searches may never change (scorers.counterfactuals)."""

    immutable: list[str] = Field(
        default_factory=list,
        description="Features no counterfactual changes (age, a protected attribute, ...), as packaged.",
    )


class Manifest(_Section):
    schema_version: int = SCHEMA_VERSION
    created: str | None = Field(None, description="UTC time of save.")
    model: ModelSection
    features: list[Feature]
    masking: MaskingSection
    scorer: ScorerSection
    output_space: Literal["probability", "log_odds", "raw"]
    expected_values: list[float]
    background: BackgroundSection
    global_explanation: GlobalSection | None = None
    evaluation: EvaluationSection | None = None
    monitoring: MonitoringSection | None = Field(
        None, description="The drift monitor's baseline; null in artifacts packaged before it existed."
    )
    checks: ChecksSection | None = None
    fidelity: FidelitySection | None = None
    counterfactuals: CounterfactualsSection | None = Field(
        None, description="Counterfactual settings; null when none were given (and in older artifacts)."
    )
    timings: dict[str, float | int] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)
    files: dict[str, str] = Field(default_factory=dict, description="sha256 of every other file.")

    @field_serializer("features")
    def _features(self, features: list[Feature]) -> list[dict[str, Any]]:
        return [f.to_json() for f in features]

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2)


def _where(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc)


def parse(data: Any) -> Manifest:
    """A manifest from its JSON value: version first, then every field (errors name the field)."""
    if not isinstance(data, dict):
        raise ArtifactError(f"{MANIFEST} must hold a JSON object, not {type(data).__name__}")
    version = data.get("schema_version")
    if not isinstance(version, int) or isinstance(version, bool) or not 1 <= version <= SCHEMA_VERSION:
        raise ArtifactError(
            f"artifact schema version {version!r} is not supported (this shapserve reads versions up to "
            f"{SCHEMA_VERSION}); re-package the model with this version"
        )
    try:
        manifest = Manifest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ArtifactError(
            f"{MANIFEST} field '{_where(first['loc'])}': {first['msg']} ({exc.error_count()} problem(s))"
        ) from None
    for name in ("file", "format"):  # optional while fitting, required in a saved artifact
        if getattr(manifest.model, name) is None:
            raise ArtifactError(f"{MANIFEST} field 'model.{name}': required in a saved artifact")
    return manifest


def read(directory: str | Path) -> Manifest:
    path = Path(directory) / MANIFEST
    if not path.is_file():
        raise ArtifactError(f"no {MANIFEST} in '{directory}': not a shapserve artifact")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ArtifactError(f"{MANIFEST} is not valid JSON ({exc.msg} at line {exc.lineno})") from exc
    return parse(data)


def json_schema() -> dict[str, Any]:
    return Manifest.model_json_schema()
