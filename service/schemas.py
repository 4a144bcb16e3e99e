"""Pydantic request and response models: the shapes the OpenAPI document shows.

Request bodies are parsed once (``service.app``) and validated against these models: unknown keys and a
non-object body are refused here, with our error shape.  The rows themselves (``instances``) and
``top_k`` are typed for the document but checked by the engine's schema (``scorers.schema``), whose
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


class ExplainRequest(PredictRequest):
    top_k: Annotated[
        int | None,
        SkipValidation,
        Field(
            description="Also return the top-k features by |value| for each row's predicted class (1..M).",
            json_schema_extra={"minimum": 1},
        ),
    ] = None


class PredictResponse(BaseModel):
    predictions: list[Label]
    probabilities: list[list[float]] | None = Field(None, description="[row][class], classifiers only.")
    classes: list[Label] | None = Field(None, description="Class labels in probability order.")


class Ranked(BaseModel):
    names: list[str]
    values: list[float]


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


class TopKQuery(BaseModel):
    top_k: str | None = Field(None, description="An integer from 1 to the number of features.")


class GlobalResponse(BaseModel):
    output_space: str
    n_rows: int
    classes: list[Label] | None
    ranked_names: list[str]
    ranked_values: list[float]
    per_class: dict[str, dict[str, float]]


class ErrorResponse(BaseModel):
    error: str = Field(description="What went wrong, naming the row, the field and what was expected.")
    kind: str = Field(description="A stable label, also counted in shapserve_errors_total{kind}.")
    row: int | None = None
    field: str | None = None
