"""Drift over time from the recorded ``/explain`` answers (docs/monitoring.md#over-time).

The recorder keeps a sample of served answers with their rows coded by the model's monitoring baseline
(``inputs``); this module reads the recorded answers of one model, oldest first, and hands them to the
engine's ``scorers.monitoring.history``, which buckets them by time and scores every bucket with the
code of ``GET /monitoring``.  Answers of another feature list (another model) are left out and counted.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import numpy as np

from scorers.monitoring import Baseline, Thresholds
from scorers.monitoring.history import Batch, history

from .records import INPUTS
from .repository import RECORDED, ExplanationStore, Filters


def recorded_batches(
    store: ExplanationStore, base: Baseline, filters: Filters, skipped: list[str]
) -> Iterator[Batch]:
    """The recorded local answers matching ``filters`` as batches of the baseline's shape; the ids of
    those that do not fit (other features or classes) are appended to ``skipped``."""
    k = base.mean_abs.shape[0]
    for meta, arrays in store.arrays(filters, ("values", INPUTS)):
        values = arrays.get("values")
        if values is None or meta.kind != "local" or meta.features != base.features or values.shape[1] != k:
            skipped.append(meta.id)
            continue
        coded = arrays.get(INPUTS)
        if coded is not None and coded.shape != (values.shape[0], len(base.features)):
            coded = None
        yield Batch(meta.created.timestamp(), coded, np.asarray(values, dtype=np.float64))


def drift_history(
    store: ExplanationStore,
    base: Baseline,
    limits: Thresholds,
    *,
    bucket_seconds: float,
    model_name: str | None = None,
    model_version: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    top: int = 10,
) -> dict[str, Any]:
    """The drift of one model's recorded answers against its baseline, per ``bucket_seconds`` bucket."""
    filters = Filters(
        kind="local",
        source=RECORDED,
        model_name=model_name,
        model_version=model_version,
        since=since,
        until=until,
    )
    skipped: list[str] = []
    out = history(base, recorded_batches(store, base, filters, skipped), bucket_seconds, limits, top)
    return {**out, "skipped_explanations": len(skipped)}
