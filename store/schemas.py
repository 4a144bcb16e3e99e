"""Pydantic models of what the store accepts: the ``/explain`` and ``/explain_global`` answers and the
``POST /explanations`` body.  The structural checks (types, finite numbers) happen here; shapes and
lengths are checked by ``store.codec``, which names the offending field in every error.
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    PlainValidator,
    StrictBool,
    StrictStr,
)


def _no_nul(s: str) -> str:
    # PostgreSQL text cannot hold NUL; refuse it on every backend alike
    if "\x00" in s:
        raise ValueError(f"expected text without NUL characters, got {s[:40]!r}")
    return s


def _label(v: Any) -> Any:
    if isinstance(v, bool | int):
        return v
    if isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError(f"expected a finite number, got {v!r}")
        return v
    if isinstance(v, str) and len(v) <= 256:
        return _no_nul(v)
    raise ValueError(
        f"expected a class label (a string of at most 256 characters, a number or a boolean), got {v!r}"
    )


NoNul = AfterValidator(_no_nul)
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Name = Annotated[str, Field(strict=True, min_length=1, max_length=256), NoNul]
Label = Annotated[Any, PlainValidator(_label)]
Count = Annotated[int, Field(strict=True, ge=1, le=2**31 - 1)]
Space = Annotated[str, Field(strict=True, min_length=1, max_length=32), NoNul]
Scorer = Annotated[str, Field(strict=True, max_length=64), NoNul]
ModelName = Annotated[str, Field(strict=True, min_length=1, max_length=255), NoNul]
ModelVersion = Annotated[str, Field(strict=True, max_length=255), NoNul]
Comment = Annotated[str, Field(strict=True, max_length=1000), NoNul]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: StrictStr | None = None
    features: list[Name] | None = None
    output_space: Space
    classes: list[Label] | None = None
    scorer: Scorer | None = None
    engineered: StrictBool = False
    top_k: Count | None = None
    info: dict[str, JsonValue] = Field(default_factory=dict)


Sigma = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0)]


class ErrorEstimate(BaseModel):
    """``/explain``'s ``error_estimate`` (scorers.errorbars): per row its sigma and the two parts, and
    per value its sigma, shaped like ``local_importance_values`` (checked by ``store.codec``)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[Sigma]
    sampling: list[Sigma]
    background: list[Sigma]
    values: list[Any]


class LocalClassifier(_Payload):
    """``/explain`` of a classifier: K = len(classes) outputs per row."""

    features: list[Name]
    classes: list[Label]
    expected_values: list[Finite]
    explained_outputs: list[list[Finite]]
    local_importance_values: list[list[list[Finite]]]
    predictions: list[Label] | None = None
    probabilities: list[list[Finite]] | None = None
    true_ys: list[Label] | None = None
    ranked: list[Any] | None = None  # derived from the values; accepted and recomputed on download
    error_estimate: ErrorEstimate | None = None


class LocalRegressor(_Payload):
    """``/explain`` of a regressor: one output per row, no class axis."""

    features: list[Name]
    classes: None = None
    expected_values: Finite
    explained_outputs: list[Finite]
    local_importance_values: list[list[Finite]]
    predictions: list[Finite] | None = None
    true_ys: list[Finite] | None = None
    ranked: list[Any] | None = None
    error_estimate: ErrorEstimate | None = None


class Global(_Payload):
    """``/explain_global`` (or ``GlobalExplanation.to_json()``), of any kind.

    ``per_class``: ``{class or "value": {feature: value}}`` or a [class][feature] list (then
    ``features`` is required); ``extras``: per-feature arrays in the same forms or ``{feature: v}`` /
    [feature]; ``info``: scalar facts (a metric name, a fidelity); ``importance``: the overall
    importance per feature when it is not the mean of ``per_class`` over classes.
    """

    n_rows: Count
    per_class: Any
    ranked_names: list[Name] | None = None
    ranked_values: list[Finite] | None = None
    importance: Any = None
    extras: dict[str, Any] = Field(default_factory=dict)
    true_ys: list[Label] | None = None


class ModelRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: ModelName
    version: ModelVersion | None = None


class UploadBody(BaseModel):
    """``POST /explanations``."""

    model_config = ConfigDict(extra="forbid")

    explanation: dict[str, Any]
    comment: Comment | None = None
    top_k: Count | None = None
    model: Any = None  # "name[:version]" or {"name", "version"}: checked by store.api.parse_model
    true_ys: list[Label] | None = None
    engineered: StrictBool | None = None
