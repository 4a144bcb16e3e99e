"""The packaging report: what fit decided and measured, from the explainer's manifest."""

from __future__ import annotations

from typing import Any

from scorers import ScoringExplainer


def packaging_report(explainer: ScoringExplainer) -> dict[str, Any]:
    m = explainer.manifest
    return {
        "scorer": m.scorer.kind,
        "exact": m.scorer.exact,
        "output_space": m.output_space,
        "fallback": m.scorer.fallback,
        "masking": f"{m.masking.mode} ({m.masking.reason})",
        "features": len(explainer.features),
        "classes": explainer.classes,
        "background": m.background.model_dump(exclude={"file"}),
        "runtimes": {"predictions": m.model.prediction_runtime, "coalitions": m.model.coalition_runtime},
        "checks": m.checks.model_dump() if m.checks else {},
    }
