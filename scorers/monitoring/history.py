"""Drift over time: explained rows grouped into time buckets, each bucket scored like a live window.

The rows come with their time (for example the answers the explanation store recorded), as batches of
``(t, coded inputs or None, SHAP values)``.  Each bucket's ``Counts`` is scored by ``drift.report``, the
same code as ``GET /monitoring`` (one rule for both).  A batch without its inputs (recorded before the
recorder kept them) counts towards the attributions only; a bucket with no inputs has no input score.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .baseline import Baseline
from .binning import FloatArray
from .drift import Thresholds, report
from .sketch import Counts, observe


@dataclass(frozen=True)
class Batch:
    """Rows explained at time ``t`` (seconds since the epoch): coded inputs (n, M) or None, SHAP (n, K, M)."""

    t: float
    coded: FloatArray | None
    values: FloatArray


@dataclass
class Bucket:
    start: float
    counts: Counts
    input_rows: int = 0


def _count(base: Baseline, batch: Batch) -> tuple[Counts, int]:
    if batch.coded is not None:
        return observe(base, batch.coded, batch.values), batch.values.shape[0]
    n = batch.values.shape[0]
    c = observe(base, np.full((n, len(base.features)), np.nan), batch.values)
    c.inputs[:] = 0  # no inputs known: these rows count towards the attributions only
    return c, 0


def bucketed(base: Baseline, batches: Iterable[Batch], width: float) -> list[Bucket]:
    """The batches' counts summed per bucket ``[k * width, (k + 1) * width)``, oldest first."""
    found: dict[int, Bucket] = {}
    for batch in batches:
        k = int(batch.t // width)
        bucket = found.setdefault(k, Bucket(k * width, Counts.zeros(base)))
        c, with_inputs = _count(base, batch)
        bucket.counts.add(c)
        bucket.input_rows += with_inputs
    return [found[k] for k in sorted(found)]


def scored(base: Baseline, counts: Counts, input_rows: int, limits: Thresholds) -> dict[str, Any]:
    """``drift.report`` of some counts, without an input score when none of their rows had inputs."""
    out = report(base, counts, limits)
    out["input_rows"] = input_rows
    if input_rows == 0:
        out["input_drift"] = {**out["input_drift"], "score": None, "alert": False}
        for f in out["features"].values():
            f["input_psi"] = None
    return out


def moved(summary: dict[str, Any], top: int) -> list[dict[str, Any]]:
    """The ``top`` features whose attribution share moved most from the baseline's (a report's)."""
    rows = [
        {
            "feature": name,
            "attribution_share": f["attribution_share"],
            "baseline_attribution_share": f["baseline_attribution_share"],
            "change": f["attribution_share"] - f["baseline_attribution_share"],
        }
        for name, f in summary["features"].items()
    ]
    rows.sort(key=lambda r: (-abs(r["change"]), r["feature"]))
    return rows[:top]


def history(
    base: Baseline, batches: Iterable[Batch], width: float, limits: Thresholds, top: int = 10
) -> dict[str, Any]:
    """Each bucket's scores, the scores of all the rows together, and the features that moved most."""
    buckets = bucketed(base, batches, width)
    total = Counts.zeros(base)
    for b in buckets:
        total.add(b.counts)
    overall = scored(base, total, sum(b.input_rows for b in buckets), limits)
    return {
        "bucket_seconds": width,
        "rows": total.rows,
        "buckets": [
            {"start": b.start, "end": b.start + width, **scored(base, b.counts, b.input_rows, limits)}
            for b in buckets
        ],
        "overall": overall,
        "moved": moved(overall, top) if total.rows else [],
    }
