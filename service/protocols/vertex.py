"""Vertex AI custom containers: the ``{"instances": ..., "parameters": ...}`` body, the
``{"predictions": ...}`` answer and Vertex Explainable AI's ``explain`` answer.

``explain``'s shape is Vertex's ``ExplainResponse``: ``explanations[row].attributions[output]`` with
``baselineOutputValue`` (the expected value), ``instanceOutputValue`` (the explained output),
``featureAttributions`` (feature name -> value), ``outputIndex`` ([class index], [] for regressors),
``outputDisplayName`` (the class), ``outputName`` (the output space) and ``approximationError`` (the
row's error estimate, ``service.core``'s ``error_estimate``); docs/protocols.md has the shape.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import Field, SkipValidation

from scorers.errors import InputError

from ..schemas import Body, Row


class VertexRequest(Body):
    instances: Annotated[
        list[Row], SkipValidation, Field(description="Rows, as /predict takes them (objects or arrays).")
    ]
    parameters: Annotated[
        dict[str, Any] | None,
        SkipValidation,
        Field(description="Vertex's per-request parameters; shapserve takes none (null or {})."),
    ] = None

    def rows(self) -> Any:
        if self.parameters not in (None, {}):
            raise InputError("shapserve takes no parameters (send null or {})", field="parameters")
        return self.instances


def deployed_model_id() -> str:
    """The id Vertex gives the deployed model (``AIP_DEPLOYED_MODEL_ID``; empty outside Vertex)."""
    return os.environ.get("AIP_DEPLOYED_MODEL_ID", "")


def predict_response(answer: dict[str, Any]) -> dict[str, Any]:
    """``{"predictions": [...]}`` first, then ``/predict``'s other keys (probabilities, classes)."""
    return {"predictions": answer["predictions"], "deployedModelId": deployed_model_id(), **answer}


def explain_response(answer: dict[str, Any]) -> dict[str, Any]:
    """Vertex's ``ExplainResponse`` from ``/explain``'s answer (with ``error_estimate``)."""
    features = answer["features"]
    classes = answer.get("classes")
    expected = answer["expected_values"]
    sigma = answer["error_estimate"]["rows"]
    explanations = []
    for i, values in enumerate(answer["local_importance_values"]):
        outputs = answer["explained_outputs"][i]
        per_output = values if classes is not None else [values]
        attributions = []
        for k, vals in enumerate(per_output):
            attributions.append(
                {
                    "baselineOutputValue": expected[k] if classes is not None else expected,
                    "instanceOutputValue": outputs[k] if classes is not None else outputs,
                    "featureAttributions": dict(zip(features, vals, strict=True)),
                    "outputIndex": [k] if classes is not None else [],
                    "outputDisplayName": str(classes[k]) if classes is not None else "",
                    "approximationError": sigma[i],
                    "outputName": answer["output_space"],
                }
            )
        explanations.append({"attributions": attributions})
    return {
        "explanations": explanations,
        "deployedModelId": deployed_model_id(),
        "predictions": answer["predictions"],
    }
