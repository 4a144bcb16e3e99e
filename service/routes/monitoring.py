"""``GET /monitoring``: attribution and input drift of the served rows against the packaging baseline,
summed over the server's workers (service.monitoring; docs/monitoring.md)."""

from __future__ import annotations

from typing import Any

from scorers.errors import InputError
from scorers.monitoring import WINDOWS

from ..errors import NotFoundError
from ..routing import Call, RouteSpec
from ..schemas import MonitoringQuery, MonitoringResponse


def report(call: Call) -> dict[str, Any]:
    monitor = call.core.monitor
    if monitor is None:
        raise NotFoundError(
            "this model has no monitoring baseline (packaged before shapserve stored one: re-package it) "
            "or monitoring is off (SHAPSERVE_MONITORING)"
        )
    window = call.query.get("window", "rows")
    if window not in WINDOWS:
        raise InputError(f"expected one of {list(WINDOWS)}, got {window!r}", field="window")
    return monitor.report(window)


ROUTES = (
    RouteSpec(
        "/monitoring",
        "GET",
        report,
        "Attribution and input drift of the explained rows against the packaging baseline (PSI per "
        "feature, the ranking's nDCG), over the last N rows or the last hour, summed over the workers",
        query=MonitoringQuery,
        response=MonitoringResponse,
        tags=("monitoring",),
    ),
)
