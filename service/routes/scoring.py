"""The scoring routes: predictions, and predictions with local explanations."""

from __future__ import annotations

from typing import Any

from ..routing import Call, RouteSpec
from ..schemas import ExplainRequest, ExplainResponse, PredictRequest, PredictResponse


def predict(call: Call) -> dict[str, Any]:
    return call.core.predict(call.body.instances)


def explain(call: Call) -> dict[str, Any]:
    body = call.body
    return call.core.explain(
        body.instances,
        body.top_k,
        cancel=call.cancel.is_set,
        error_estimate=body.error_estimate,
        max_error=body.max_error,
    )


def rows(body: Any) -> int | None:
    """The rows of a body's ``instances`` before they are validated (None unless a list)."""
    instances = body.instances
    return len(instances) if isinstance(instances, list) else None


def explain_rows(body: Any) -> int | None:
    """The rows of an ``/explain`` body, or None when it asks for an error estimate or a refinement: its
    time is then not the route's usual time per row (a refinement runs up to SHAPSERVE_MAX_ERROR_SECONDS
    whatever the rows), so it never runs on the event loop (``service.inline``)."""
    if body.max_error is not None or body.error_estimate:
        return None
    return rows(body)


ROUTES = (
    RouteSpec(
        "/predict",
        "POST",
        predict,
        "Predictions (and class probabilities) for rows",
        body=PredictRequest,
        response=PredictResponse,
        scoring=True,
        rows=rows,
        tags=("scoring",),
    ),
    RouteSpec(
        "/explain",
        "POST",
        explain,
        "Predictions with local feature importances (SHAP values), additive in the stated output space",
        body=ExplainRequest,
        response=ExplainResponse,
        scoring=True,
        rows=explain_rows,
        tags=("scoring",),
    ),
)
