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


def _observe(base: Baseline, batches: list[Batch]) -> Bucket:
    """One bucket's counts: its batches observed together (one vectorised pass, not one per batch)."""
    out = Bucket(0.0, Counts.zeros(base))
    known = [b for b in batches if b.coded is not None]
    unknown = [b for b in batches if b.coded is None]
    if known:
        coded = np.concatenate([b.coded for b in known if b.coded is not None])
        out.counts.add(observe(base, coded, np.concatenate([b.values for b in known])))
        out.input_rows = coded.shape[0]
    if unknown:
        values = np.concatenate([b.values for b in unknown])
        c = observe(base, np.full((values.shape[0], len(base.features)), np.nan), values)
        c.inputs[:] = 0  # no inputs known: these rows count towards the attributions only
        out.counts.add(c)
    return out


def bucketed(base: Baseline, batches: Iterable[Batch], width: float) -> list[Bucket]:
    """The batches' counts summed per bucket ``[k * width, (k + 1) * width)``, oldest first."""
    groups: dict[int, list[Batch]] = {}
    for batch in batches:
        groups.setdefault(int(batch.t // width), []).append(batch)
    out = []
    for k in sorted(groups):
        bucket = _observe(base, groups[k])
        bucket.start = k * width
        out.append(bucket)
    return out


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
