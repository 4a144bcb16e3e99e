"""What the served model is: its metadata, its stored global explanation, and this API's document."""

from __future__ import annotations

from typing import Any

from ..openapi import document
from ..routing import Call, RouteSpec
from ..schemas import GlobalResponse, TopKQuery


def metadata(call: Call) -> dict[str, Any]:
    return call.core.metadata()


def explain_global(call: Call) -> dict[str, Any]:
    return call.core.explain_global(call.query.get("top_k"))


def openapi(call: Call) -> dict[str, Any]:
    from . import ROUTES

    return document(ROUTES, f"shapserve: {call.core.name}", call.core.version)


ROUTES = (
    RouteSpec(
        "/metadata", "GET", metadata, "The packaged model: features, classes, scorer, checks", tags=("info",)
    ),
    RouteSpec(
        "/explain_global",
        "GET",
        explain_global,
        "The global explanation stored at packaging (mean |SHAP| per feature, ranked)",
        response=GlobalResponse,
        query=TopKQuery,
        tags=("info",),
    ),
    RouteSpec(
        "/docs.json", "GET", openapi, "This OpenAPI document", open=True, blocking=False, tags=("info",)
    ),
)
