"""What the served model is: its metadata, its stored global explanation, and this API's document."""

from __future__ import annotations

from typing import Any

from ..routing import Call, RouteSpec
from ..schemas import GlobalQuery, GlobalRequest, GlobalResponse


def metadata(call: Call) -> dict[str, Any]:
    return call.core.metadata()


def explain_global(call: Call) -> dict[str, Any]:
    return call.core.explain_global(call.query.get("top_k"), call.query.get("kind"))


def explain_global_rows(call: Call) -> dict[str, Any]:
    body = call.body
    return call.core.explain_global_rows(
        body.instances,
        kind=body.kind,
        labels=body.labels,
        top_k=body.top_k,
        metric=body.metric,
        n_repeats=body.n_repeats,
        surrogate=body.surrogate,
    )


ROUTES = (
    RouteSpec(
        "/metadata", "GET", metadata, "The packaged model: features, classes, scorer, checks", tags=("info",)
    ),
    RouteSpec(
        "/explain_global",
        "GET",
        explain_global,
        "A global explanation stored at packaging: kind shap (mean |SHAP| per feature, ranked; the "
        "default), pfi or mimic (packaged with --eval-data)",
        response=GlobalResponse,
        query=GlobalQuery,
        tags=("info",),
    ),
    RouteSpec(
        "/explain_global",
        "POST",
        explain_global_rows,
        "A global explanation of the posted rows, computed on the server: shap, pfi (with labels) or mimic",
        body=GlobalRequest,
        response=GlobalResponse,
        scoring=True,
        tags=("info",),
    ),
)
