"""Pydantic request and response models: the shapes the OpenAPI document shows.

Request bodies are parsed once (``service.app``) and validated against these models: unknown keys and a
non-object body are refused here, with our error shape.  The rows themselves (``instances``) and
``top_k`` are typed for the document but checked by the engine's schema (``scorers.input_schema``), whose
messages name the row, the field and what was expected; pydantic's coercions (``"3"`` -> 3, ``true``
-> 1.0) would hide exactly the mistakes a client needs to hear about.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, SkipValidation

Cell = float | str | None
Row = dict[str, Cell] | list[Cell]
Label = str | int | float | bool

_ROWS = (
    "Rows: objects keyed by raw feature name, or arrays in the feature order of /metadata. "
    "null is a missing value (accepted where the model imputes)."
)


class Body(BaseModel):
    """A JSON request body: unknown keys are an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class PredictRequest(Body):
    instances: Annotated[list[Row] | None, SkipValidation, Field(description=_ROWS)] = None


# /explain's options, shared by every route that takes them (/explain, KServe V1 :explain)
TOP_K = Field(
    description="Also return the top-k features by |value| for each row's predicted class (1..M).",
    json_schema_extra={"minimum": 1},
)
ERROR_ESTIMATE = Field(
    description="Also return each row's error estimate against the full-data Shapley values "
    "(docs/api.md): per row and per value, its sampling and background parts."
)
MAX_ERROR = Field(
    description="Refine each row (more coalitions) until its error estimate (per-row sigma, in "
    "the values' units) is at most this, or SHAPSERVE_MAX_ERROR_SECONDS pass; implies "
    "error_estimate and adds `refinement` (per row: met, background, time or coalitions).",
    json_schema_extra={"exclusiveMinimum": 0},
)


class ExplainRequest(PredictRequest):
    top_k: Annotated[int | None, SkipValidation, TOP_K] = None
    error_estimate: Annotated[bool | None, SkipValidation, ERROR_ESTIMATE] = None
    max_error: Annotated[float | None, SkipValidation, MAX_ERROR] = None


class PredictResponse(BaseModel):
    predictions: list[Label]
    probabilities: list[list[float]] | None = Field(None, description="[row][class], classifiers only.")
    classes: list[Label] | None = Field(None, description="Class labels in probability order.")


class Ranked(BaseModel):
    names: list[str]
    values: list[float]


class ErrorEstimateBody(BaseModel):
    rows: list[float] = Field(description="Per row: sigma, the RMS over values of each value's sigma.")
    sampling: list[float] = Field(description="Per row: the coalition sampling part (RMS).")
    background: list[float] = Field(
        description="Per row: the background summary part (from the stated error)."
    )
    values: list[Any] = Field(description="Per value sigma, shaped like local_importance_values.")


class RowRefinement(BaseModel):
    status: str = Field(description="met, background (the floor is above the target), time or coalitions.")
    coalitions: int = Field(description="Coalitions of the design the row's values come from.")


class ExplainResponse(PredictResponse):
    features: list[str]
    output_space: str = Field(description="probability, log_odds or raw: what the values explain.")
    expected_values: list[float] | float = Field(
        description="Base value per class (a number for regressors)."
    )
    explained_outputs: list[list[float]] | list[float] = Field(description="The model output explained.")
    local_importance_values: list[Any] = Field(
        description="[row][class][feature] (classifiers) or [row][feature] (regressors); "
        "expected_values + sum over features == explained_outputs to 1e-6."
    )
    ranked: list[Ranked] | None = None
    error_estimate: ErrorEstimateBody | None = None
    refinement: list[RowRefinement] | None = None


class InteractionsRequest(PredictRequest):
    """``POST /explain_interactions``: ``/explain``'s body, ``top_k`` counting feature pairs."""

    top_k: Annotated[
        int | None,
        SkipValidation,
        Field(
            description="Also return the top-k feature pairs by |interaction| for each row's predicted "
            "class (1..M(M-1)/2).",
            json_schema_extra={"minimum": 1},
        ),
    ] = None
    pairs: Annotated[
        list[list[str]] | None,
        SkipValidation,
        Field(
            description="Also return the interaction values of these pairs of feature names, [[a, b], ...]."
        ),
    ] = None


class RankedPairs(BaseModel):
    pairs: list[list[str]]
    values: list[float]


class InteractionsResponse(ExplainResponse):
    interaction_values: list[Any] = Field(
        description="[row][class][feature][feature] (classifiers) or [row][feature][feature]: symmetric; "
        "off the diagonal half the pair's Shapley interaction index, on it the main effect; each row of a "
        "matrix sums to the feature's local_importance_value, the matrix to explained_outputs - "
        "expected_values (1e-6)."
    )
    interaction_method: str = Field(description="linear, tree, kernel_machine, enumeration or sampling.")
    interaction_exact: bool = Field(description="Whether the values are exact for the packaged background.")
    interaction_note: str
    interaction_errors: list[Any] | None = Field(
        None,
        description="Estimated methods only: one standard error per value, in interaction_values' layout.",
    )
    pair_values: list[Any] | None = Field(
        None, description="With pairs: [row][class][pair] (classifiers) or [row][pair]."
    )
    ranked_pairs: list[RankedPairs] | None = None


class TopKQuery(BaseModel):
    top_k: str | None = Field(None, description="An integer from 1 to the number of features.")


_KIND = "shap (mean |SHAP|, the default), pfi (permutation importance) or mimic (a global surrogate's mean |SHAP|)."


class GlobalQuery(TopKQuery):
    kind: str | None = Field(None, description=_KIND)


class GlobalRequest(PredictRequest):
    """``POST /explain_global``: a global explanation of the posted rows, computed on the server."""

    kind: Annotated[str | None, SkipValidation, Field(description=_KIND)] = None
    labels: Annotated[
        list[Label] | None,
        SkipValidation,
        Field(description="True labels, one per row (pfi only): the model's classes or values."),
    ] = None
    top_k: Annotated[
        int | None,
        SkipValidation,
        Field(description="Return only the top-k ranked features (1..M).", json_schema_extra={"minimum": 1}),
    ] = None
    metric: Annotated[
        str | None,
        SkipValidation,
        Field(description="pfi: a scikit-learn scorer (default accuracy / neg_mean_absolute_error)."),
    ] = None
    n_repeats: Annotated[
        int | None, SkipValidation, Field(description="pfi: shuffles per feature (default 5).")
    ] = None
    surrogate: Annotated[
        str | None,
        SkipValidation,
        Field(description="mimic: lgbm, linear, sgd or tree (default: as packaged)."),
    ] = None


class GlobalResponse(BaseModel):
    kind: str = Field("shap", description="shap, pfi or mimic.")
    output_space: str = Field(
        description="The SHAP space (shap, mimic); for pfi the metric whose drop is shown."
    )
    n_rows: int
    classes: list[Label] | None
    ranked_names: list[str]
    ranked_values: list[float]
    per_class: dict[str, dict[str, float]] = Field(
        description="{class: {feature: value}}; one entry 'value' for regressors and pfi."
    )
    extras: dict[str, dict[str, dict[str, float]]] | None = Field(
        None, description="Per-feature arrays of a kind, laid out like per_class (pfi: std over repeats)."
    )
    info: dict[str, Any] | None = Field(
        None, description="Facts of a kind: pfi metric, repeats, baseline; mimic surrogate and fidelity."
    )


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong, naming the row, the field and what was expected.")
    kind: str = Field(description="A stable label, also counted in shapserve_errors_total{kind}.")
    row: int | None = None
    field: str | None = None


class MonitoringQuery(BaseModel):
    window: str | None = Field(None, description="rows (the last N rows per worker, the default) or hour.")


class AttributionDrift(BaseModel):
    score: float = Field(description="The largest per-feature PSI of the SHAP values (over classes).")
    threshold: float
    ndcg: float = Field(description="nDCG of the live mean |SHAP| ranking against the baseline's.")
    ndcg_threshold: float = Field(description="SageMaker Clarify's rule: alert below 0.9.")
    alert: bool = Field(description="score above threshold or ndcg below ndcg_threshold, with min_rows rows.")


class InputDrift(BaseModel):
    score: float = Field(description="The largest per-feature PSI of the inputs.")
    threshold: float
    alert: bool


class FeatureDrift(BaseModel):
    input_psi: float
    attribution_psi: float
    attribution_share: float = Field(description="The feature's share of mean |SHAP| in the window.")
    baseline_attribution_share: float


class MonitoringResponse(BaseModel):
    """``GET /monitoring``: one window's drift against the packaging baseline, summed over the workers."""

    window: str
    window_rows: int
    min_rows: int = Field(description="Rows a window needs before it alerts.")
    attribution_drift: AttributionDrift
    input_drift: InputDrift
    features: dict[str, FeatureDrift]


class MonitoringHistoryQuery(BaseModel):
    bucket_seconds: float | None = Field(None, description="The buckets' width in seconds (default 3600).")
    since: str | None = Field(
        None, description="ISO 8601 time: answers recorded at or after it (UTC if no zone)."
    )
    until: str | None = Field(None, description="ISO 8601 time: answers recorded before it.")
    top: int | None = Field(None, description="How many moved features to list (default 10).")


class HistoryInputDrift(BaseModel):
    score: float | None = Field(description="None when no answer of the bucket was recorded with its rows.")
    threshold: float
    alert: bool


class HistoryFeature(BaseModel):
    input_psi: float | None
    attribution_psi: float
    attribution_share: float
    baseline_attribution_share: float


class HistoryScores(BaseModel):
    window_rows: int = Field(description="Recorded rows in the bucket.")
    input_rows: int = Field(description="Of them, rows recorded with their inputs (input drift).")
    min_rows: int
    attribution_drift: AttributionDrift
    input_drift: HistoryInputDrift
    features: dict[str, HistoryFeature]


class HistoryBucket(HistoryScores):
    start: float = Field(description="Seconds since the epoch (UTC); the bucket is [start, end).")
    end: float


class MovedFeature(BaseModel):
    feature: str
    attribution_share: float
    baseline_attribution_share: float
    change: float = Field(description="attribution_share - baseline_attribution_share over all the rows.")


class MonitoringHistoryResponse(BaseModel):
    """``GET /monitoring/history``: the recorded answers' drift per time bucket (scored like /monitoring)."""

    bucket_seconds: float
    rows: int
    buckets: list[HistoryBucket]
    overall: HistoryScores = Field(description="All the selected rows as one window.")
    moved: list[MovedFeature] = Field(description="Largest |change| first.")
    skipped_explanations: int = Field(description="Recorded answers of another feature list, left out.")


class Constraints(Body):
    fixed: list[str] | None = Field(None, description="Features that keep the row's value.")
    ranges: dict[str, list[float]] | None = Field(
        None,
        description="{feature: [low, high]}: the values a changed number may take (within the training "
        "data's range, which bounds every changed number anyway).",
    )
    categories: dict[str, list[str]] | None = Field(
        None, description="{feature: [category, ...]}: the values a changed category may take."
    )


class CounterfactualsRequest(PredictRequest):
    target: Annotated[
        Label | list[float | None] | None,
        SkipValidation,
        Field(
            description="A class (classifiers), or [low, high] of the prediction (regressors; null: open)."
        ),
    ] = None
    count: Annotated[
        int | None,
        SkipValidation,
        Field(description="Counterfactuals per row, 1..20 (default 1).", json_schema_extra={"minimum": 1}),
    ] = None
    constraints: Annotated[Constraints | None, SkipValidation] = None


class Change(BaseModel):
    from_: Cell = Field(alias="from")
    to: Cell


class Counterfactual(BaseModel):
    instance: dict[str, Cell] = Field(description="The counterfactual row, keyed by feature.")
    changes: dict[str, Change] = Field(description="The changed features: {feature: {from, to}}.")
    distance: float = Field(
        description="L1 distance to the row: each number's change over its median absolute deviation in "
        "the training rows, 1 per changed category."
    )
    prediction: Label
    probabilities: list[float] | None = None
    explained_output: list[float] | float
    local_importance_values: list[Any] = Field(
        description="The counterfactual's SHAP values: [class][feature] or [feature] (regressors)."
    )


class RowCounterfactuals(BaseModel):
    found: int
    reason: str | None = Field(None, description="Why fewer than count (or none) were found.")
    counterfactuals: list[Counterfactual]


class CounterfactualsResponse(BaseModel):
    target: Label | list[float | None]
    count: int
    features: list[str]
    classes: list[Label] | None
    output_space: str
    expected_values: list[float] | float
    rows: list[RowCounterfactuals]
