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
        "runtimes": {
            "predictions": m.model.prediction_runtime,
            "coalitions": m.model.coalition_runtime,
            # the permutation scorer's chain path (decision 45): its name, or why there is none
            **({"chain": _chain(m.scorer.params["chain"])} if m.scorer.params.get("chain") else {}),
        },
        "checks": m.checks.model_dump() if m.checks else {},
        # the stated error beside the time it costs: what a background buys
        "fidelity": {
            "rel_mae_vs_full_data": m.fidelity.rel_mae_vs_full_data if m.fidelity else None,
            "explain_ms_per_row": m.checks.explain_ms_per_row_single if m.checks else None,
            "background_rows": m.background.size,
            "rows_checked": m.fidelity.rows_checked if m.fidelity else None,
            "method": m.fidelity.method if m.fidelity else None,
            # the same error on --eval-data rows, which no fit has seen
            "holdout": m.fidelity.holdout.model_dump() if m.fidelity and m.fidelity.holdout else None,
        },
        **({"evaluation": _evaluation(explainer)} if m.evaluation is not None else {}),
    }


def _chain(record: dict[str, Any]) -> str:
    return str(record["name"]) if record.get("name") else f"none ({record.get('reason', '')})"


def _evaluation(explainer: ScoringExplainer) -> dict[str, Any]:
    """The evaluation rows and, per global kind, its top features and the kind's facts."""
    ev = explainer.manifest.evaluation
    assert ev is not None
    kinds: dict[str, Any] = {}
    for kind, glob in ev.globals.items():
        kinds[kind] = {"top": glob.ranked_names[:5], **{k: v for k, v in glob.info.items() if k != "classes"}}
    return {"rows": ev.rows, "label_column": ev.label_column, "globals": kinds}
