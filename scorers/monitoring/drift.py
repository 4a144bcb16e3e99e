"""Drift scores of a window's counts against the baseline: PSI per feature, nDCG of the ranking.

PSI (population stability index) on the baseline's own bins: sum over bins of (p - q) * ln(p / q),
with q the baseline's proportions and p the window's, both smoothed by half a row per bin so that an
empty bin stays finite.  It is computed from bin counts alone, so it merges across blocks and workers
for free (docs/decisions.md).  The ranking's nDCG follows SageMaker Clarify: the live ranking of mean
|SHAP| scored with the baseline's mean |SHAP| as relevance; Clarify flags a value below 0.9.

The thresholds and the minimum window were chosen from measured false-alarm rates (docs/monitoring.md,
``tests/scorers/monitoring/test_monitoring.py``): the same-distribution windows stay below them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .baseline import Baseline
from .binning import FloatArray, IntArray
from .sketch import Counts

INPUT_THRESHOLD = 0.25  # max PSI over features; 0.25 is the usual "significant shift" of PSI
ATTRIBUTION_THRESHOLD = 0.25  # max PSI over (class, feature) attributions
NDCG_THRESHOLD = 0.9  # SageMaker Clarify's rule
MIN_ROWS = 200  # below it a window does not alert (PSI's noise grows like bins / rows)


@dataclass(frozen=True)
class Thresholds:
    input: float = INPUT_THRESHOLD
    attribution: float = ATTRIBUTION_THRESHOLD
    ndcg: float = NDCG_THRESHOLD
    min_rows: int = MIN_ROWS


def psi(window: IntArray, baseline: IntArray) -> FloatArray:
    """PSI of each channel: (C, B + 1) counts against (C, B + 1) baseline counts -> (C,)."""
    p = window + 0.5
    q = baseline + 0.5
    p = p / p.sum(axis=1, keepdims=True)
    q = q / q.sum(axis=1, keepdims=True)
    used = (baseline > 0) | (window > 0)  # bins empty on both sides (padding) add nothing
    return np.asarray(np.where(used, (p - q) * np.log(p / q), 0.0).sum(axis=1), dtype=np.float64)


def importance(mean_abs: FloatArray) -> FloatArray:
    """Global importance per feature: mean |SHAP| averaged over the outputs, (K, M) -> (M,)."""
    return np.asarray(mean_abs.mean(axis=0), dtype=np.float64)


def ndcg(live: FloatArray, reference: FloatArray) -> float:
    """nDCG of the live ranking (features by ``live`` importance) with ``reference`` as relevance."""
    discount = 1.0 / np.log2(np.arange(live.size) + 2.0)
    ideal = float((np.sort(reference)[::-1] * discount).sum())
    if ideal <= 0:
        return 1.0
    order = np.argsort(-live, kind="stable")
    return float((reference[order] * discount).sum() / ideal)


def feature_scores(base: Baseline, c: Counts) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per feature (M,): input PSI, attribution PSI (the largest over classes), live importance."""
    m = len(base.features)
    k = base.mean_abs.shape[0]
    input_psi = psi(c.inputs, base.input_counts)
    attr_psi = psi(c.attributions, base.attr_counts).reshape(k, m).max(axis=0)
    return input_psi, attr_psi, importance(c.abs_sum / max(c.rows, 1))


def alerts(base: Baseline, c: Counts, limits: Thresholds) -> tuple[bool, bool]:
    """(attribution alert, input alert) of a window: the rule ``report`` states."""
    input_psi, attr_psi, live_imp = feature_scores(base, c)
    if c.rows < limits.min_rows:
        return False, False
    rank = ndcg(live_imp, importance(base.mean_abs))
    return bool(attr_psi.max() > limits.attribution or rank < limits.ndcg), bool(
        input_psi.max() > limits.input
    )


def report(base: Baseline, c: Counts, limits: Thresholds) -> dict[str, Any]:
    """The window's scores: the JSON of ``GET /monitoring`` for one window."""
    m = len(base.features)
    input_psi, attr_psi, live_imp = feature_scores(base, c)
    base_imp = importance(base.mean_abs)
    share = live_imp / live_imp.sum() if live_imp.sum() > 0 else np.zeros(m)
    base_share = base_imp / base_imp.sum() if base_imp.sum() > 0 else np.zeros(m)
    rank = ndcg(live_imp, base_imp) if c.rows else 1.0
    attr_score = float(attr_psi.max()) if c.rows else 0.0
    input_score = float(input_psi.max()) if c.rows else 0.0
    attr_alert, input_alert = alerts(base, c, limits)
    return {
        "window_rows": c.rows,
        "min_rows": limits.min_rows,
        "attribution_drift": {
            "score": attr_score,
            "threshold": limits.attribution,
            "ndcg": rank,
            "ndcg_threshold": limits.ndcg,
            "alert": attr_alert,
        },
        "input_drift": {
            "score": input_score,
            "threshold": limits.input,
            "alert": input_alert,
        },
        "features": {
            name: {
                "input_psi": float(input_psi[j]) if c.rows else 0.0,
                "attribution_psi": float(attr_psi[j]) if c.rows else 0.0,
                "attribution_share": float(share[j]),
                "baseline_attribution_share": float(base_share[j]),
            }
            for j, name in enumerate(base.features)
        },
    }
