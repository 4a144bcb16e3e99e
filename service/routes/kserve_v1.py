"""KServe V1: model readiness, ``:predict`` and ``:explain`` on the packaged model's name."""

from __future__ import annotations

from typing import Any

from ..protocols import check_model
from ..protocols.v1 import V1ExplainRequest, V1ModelReady, V1Models, V1PredictRequest
from ..routing import Call, RouteSpec
from ..schemas import ExplainResponse, PredictResponse


def models(call: Call) -> dict[str, Any]:
    return {"models": [call.core.name]}


def model_ready(call: Call) -> dict[str, Any]:
    check_model(call.core, call.path["name"])
    return {"name": call.core.name, "ready": call.core.ready}


def predict(call: Call) -> dict[str, Any]:
    check_model(call.core, call.path["name"])
    return call.core.predict(call.body.rows())


def explain(call: Call) -> dict[str, Any]:
    check_model(call.core, call.path["name"])
    body = call.body
    return call.core.explain(
        body.rows(),
        body.top_k,
        cancel=call.cancel.is_set,
        error_estimate=body.error_estimate,
        max_error=body.max_error,
    )


_TAGS = ("kserve-v1",)
ROUTES = (
    RouteSpec(
        "/v1/models",
        "GET",
        models,
        "KServe V1: the served models",
        response=V1Models,
        blocking=False,
        tags=_TAGS,
    ),
    RouteSpec(
        "/v1/models/{name}",
        "GET",
        model_ready,
        "KServe V1: whether the model is ready",
        response=V1ModelReady,
        blocking=False,
        tags=_TAGS,
    ),
    RouteSpec(
        "/v1/models/{name}:predict",
        "POST",
        predict,
        "KServe V1: predictions (and class probabilities) for instances",
        body=V1PredictRequest,
        response=PredictResponse,
        scoring=True,
        tags=_TAGS,
    ),
    RouteSpec(
        "/v1/models/{name}:explain",
        "POST",
        explain,
        "KServe V1: predictions with local feature importances, in the /explain shape",
        body=V1ExplainRequest,
        response=ExplainResponse,
        scoring=True,
        tags=_TAGS,
    ),
)
