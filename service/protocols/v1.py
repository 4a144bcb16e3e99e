"""KServe V1 bodies: ``{"instances": [...]}`` (or ``{"inputs": [...]}``, which KServe's own model servers
also read), rows exactly as ``/predict`` takes them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, SkipValidation

from scorers.errors import InputError

from ..schemas import ERROR_ESTIMATE, MAX_ERROR, TOP_K, Body, Row

_ROWS = "Rows, as /predict takes them: objects keyed by raw feature name, or arrays in feature order."


class V1PredictRequest(Body):
    instances: Annotated[list[Row] | None, SkipValidation, Field(description=_ROWS)] = None
    inputs: Annotated[
        list[Row] | None, SkipValidation, Field(description="The same rows under KServe's other key.")
    ] = None

    def rows(self) -> Any:
        if self.instances is not None and self.inputs is not None:
            raise InputError("send the rows as 'instances' or as 'inputs', not both", field="inputs")
        return self.inputs if self.instances is None else self.instances


class V1ExplainRequest(V1PredictRequest):
    """``/explain``'s options beside the rows: ``top_k``, ``error_estimate``, ``max_error`` (the same
    fields, checked by ``ScoringService.explain``)."""

    top_k: Annotated[int | None, SkipValidation, TOP_K] = None
    error_estimate: Annotated[bool | None, SkipValidation, ERROR_ESTIMATE] = None
    max_error: Annotated[float | None, SkipValidation, MAX_ERROR] = None


class V1ModelReady(BaseModel):
    name: str
    ready: bool


class V1Models(BaseModel):
    models: list[str]
