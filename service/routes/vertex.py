"""Vertex AI custom container: health, predict and explain, at Vertex's default paths and at the
routes ``AIP_HEALTH_ROUTE`` / ``AIP_PREDICT_ROUTE`` name (``service.settings``).  The port is
``AIP_HTTP_PORT`` (the image's entrypoint).  Health is open (Vertex's probe carries no key)."""

from __future__ import annotations

from typing import Any

from ..protocols.vertex import VertexRequest, explain_response, predict_response
from ..routing import Call, RouteSpec
from ..settings import Settings

DEFAULT_HEALTH = "/v1/endpoints/{endpoint}/deployedModels/{deployed_model}"


def health(call: Call) -> dict[str, Any]:
    return {"status": "ok", "model": call.core.name}


def predict(call: Call) -> dict[str, Any]:
    return predict_response(call.core.predict(call.body.rows()))


def explain(call: Call) -> dict[str, Any]:
    answer = call.core.explain(call.body.rows(), cancel=call.cancel.is_set, error_estimate=True)
    return explain_response(answer)


def explain_path(predict_path: str) -> str:
    """The explain route beside a predict route: ``:predict`` -> ``:explain``, else ``:explain`` appended."""
    base = predict_path.removesuffix(":predict")
    return base + ":explain"


_TAGS = ("vertex-ai",)


def _routes(health_path: str, predict_path: str) -> tuple[RouteSpec, ...]:
    return (
        RouteSpec(health_path, "GET", health, "Vertex AI: health", open=True, blocking=False, tags=_TAGS),
        RouteSpec(
            predict_path,
            "POST",
            predict,
            'Vertex AI: {"instances", "parameters"} -> {"predictions"}',
            body=VertexRequest,
            scoring=True,
            tags=_TAGS,
        ),
        RouteSpec(
            explain_path(predict_path),
            "POST",
            explain,
            "Vertex AI: predictions with explanations in Vertex Explainable AI's ExplainResponse shape",
            body=VertexRequest,
            scoring=True,
            tags=_TAGS,
        ),
    )


def routes(settings: Settings) -> tuple[RouteSpec, ...]:
    """Vertex's default paths, then the AIP_* routes when they name other paths."""
    out = _routes(DEFAULT_HEALTH, DEFAULT_HEALTH + ":predict")
    if settings.vertex_health_route or settings.vertex_predict_route:
        custom = _routes(
            settings.vertex_health_route or DEFAULT_HEALTH,
            settings.vertex_predict_route or DEFAULT_HEALTH + ":predict",
        )
        taken = {(r.path, r.method) for r in out}
        out += tuple(r for r in custom if (r.path, r.method) not in taken)
    return out
