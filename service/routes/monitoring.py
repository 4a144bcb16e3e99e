"""``GET /monitoring``: attribution and input drift of the served rows against the packaging baseline,
summed over the server's workers (service.monitoring; docs/monitoring.md); ``GET /monitoring/history``:
the same scores per time bucket of the answers the store recorded (store.drift)."""

from __future__ import annotations

from typing import Any

from scorers.errors import InputError
from scorers.monitoring import WINDOWS

from ..errors import NotFoundError
from ..monitoring.history import drift_history
from ..routing import Call, RouteSpec
from ..schemas import MonitoringHistoryQuery, MonitoringHistoryResponse, MonitoringQuery, MonitoringResponse

NO_BASELINE = "this model has no monitoring baseline (packaged before shapserve stored one: re-package it)"


def report(call: Call) -> dict[str, Any]:
    monitor = call.core.monitor
    if monitor is None:
        raise NotFoundError(NO_BASELINE + " or monitoring is off (SHAPSERVE_MONITORING)")
    window = call.query.get("window", "rows")
    if window not in WINDOWS:
        raise InputError(f"expected one of {list(WINDOWS)}, got {window!r}", field="window")
    return monitor.report(window)


def history(call: Call) -> dict[str, Any]:
    if call.core.explainer.baseline is None:
        raise NotFoundError(NO_BASELINE)
    return drift_history(call.core, call.query)


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
    RouteSpec(
        "/monitoring/history",
        "GET",
        history,
        "Attribution and input drift over time: the /explain answers the store recorded "
        "(SHAPSERVE_STORE_RECORD_SAMPLE_RATE), per time bucket, against the packaging baseline, and the "
        "features whose attribution share moved most",
        query=MonitoringHistoryQuery,
        response=MonitoringHistoryResponse,
        tags=("monitoring",),
    ),
)
