"""``POST /counterfactuals``: per row, diverse counterfactuals that reach a target (scorers.counterfactuals)."""

from __future__ import annotations

from typing import Any

from ..routing import Call, RouteSpec
from ..schemas import CounterfactualsRequest, CounterfactualsResponse


def counterfactuals(call: Call) -> dict[str, Any]:
    body = call.body
    return call.core.counterfactuals(body.instances, body.target, body.count, body.constraints)


ROUTES = (
    RouteSpec(
        "/counterfactuals",
        "POST",
        counterfactuals,
        "Per row, up to count diverse counterfactuals reaching a target class or range, with predictions "
        "and SHAP values",
        body=CounterfactualsRequest,
        response=CounterfactualsResponse,
        scoring=True,
        tags=("scoring",),
    ),
)
