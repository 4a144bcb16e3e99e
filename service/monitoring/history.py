"""``GET /monitoring/history``: the drift of the recorded ``/explain`` answers over time (``store.drift``),
with the query checked here (a 400 naming the parameter)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from scorers.errors import InputError

from .workers import thresholds

if TYPE_CHECKING:
    from ..core import ScoringService

TOP = 10


def _time(query: Mapping[str, str], name: str) -> datetime | None:
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    try:
        t = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError(
            f"expected an ISO 8601 time such as 2026-03-01T12:00:00Z, got {raw!r}", field=name
        ) from None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def _number(query: Mapping[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:
        raise InputError(f"expected a number from {low:g} to {high:g}, got {raw!r}", field=name)
    return value


def drift_history(core: ScoringService, query: Mapping[str, str]) -> dict[str, Any]:
    """The history of this model's recorded answers (this model name and version) against its baseline."""
    from store.drift import drift_history as from_store

    base = core.explainer.baseline
    bucket = _number(query, "bucket_seconds", 3600.0, 1.0, 366 * 86400.0)
    top = int(_number(query, "top", TOP, 1, 1000))  # at most: fewer features, fewer listed
    if "top" in query and not query["top"].isdigit():
        raise InputError(f"expected a whole number, got {query['top']!r}", field="top")
    since, until = _time(query, "since"), _time(query, "until")
    if since is not None and until is not None and until <= since:
        raise InputError("until must be later than since", field="until")
    assert base is not None  # the route answers 404 first
    return from_store(
        core.store,
        base,
        thresholds(core.settings),
        bucket_seconds=bucket,
        model_name=core.name,
        model_version=core.version,
        since=since,
        until=until,
        top=top,
    )
