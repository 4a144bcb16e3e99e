"""The route table: every HTTP route of ours, in one tuple.

A new route is a ``RouteSpec`` in one of these modules (or a new module added here); the app serves
it, the guard protects it (behind the API key unless marked open), ``/metrics`` counts it and
``/docs.json`` documents it, with no other edit.  ``/docs.json`` itself is defined here, beside the
table it documents (an info module reading the table back would import this package: a cycle).
"""

from __future__ import annotations

from typing import Any

from ..openapi import document
from ..routing import Call, RouteSpec
from ..settings import get_settings
from . import (
    azureml,
    counterfactuals,
    dashboard,
    explanations,
    info,
    interactions,
    jobs,
    kserve_v1,
    monitoring,
    oip_v2,
    sagemaker,
    scoring,
    vertex,
)


def openapi(call: Call) -> dict[str, Any]:
    return document(ROUTES, f"shapserve: {call.core.name}", call.core.version)


DOCS = RouteSpec(
    "/docs.json", "GET", openapi, "This OpenAPI document", open=True, blocking=False, tags=("info",)
)

ROUTES: tuple[RouteSpec, ...] = (
    *scoring.ROUTES,
    *counterfactuals.ROUTES,
    *interactions.ROUTES,
    *jobs.ROUTES,
    *info.ROUTES,
    DOCS,
    *azureml.ROUTES,
    *kserve_v1.ROUTES,
    *oip_v2.ROUTES,
    *explanations.ROUTES,
    *dashboard.ROUTES,
    *monitoring.ROUTES,
    *sagemaker.ROUTES,
    *vertex.routes(get_settings()),  # Vertex's default paths and the AIP_* routes (read at start-up)
)

__all__ = ["ROUTES", "RouteSpec"]
