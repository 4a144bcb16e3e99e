"""Pairwise Shapley interaction values of posted rows (``scorers.interactions``)."""

from __future__ import annotations

from typing import Any

from ..routing import Call, RouteSpec
from ..schemas import InteractionsRequest, InteractionsResponse


def explain_interactions(call: Call) -> dict[str, Any]:
    body = call.body
    return call.core.interactions(body.instances, body.top_k, body.pairs, cancel=call.cancel.is_set)


ROUTES = (
    RouteSpec(
        "/explain_interactions",
        "POST",
        explain_interactions,
        "Local explanations with pairwise Shapley interaction values: per row a feature x feature matrix "
        "whose rows sum to the SHAP values",
        body=InteractionsRequest,
        response=InteractionsResponse,
        scoring=True,
        tags=("scoring",),
    ),
)
