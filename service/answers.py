"""The service's answers as plain dicts: one formatter, shared by the request path (``service/core.py``)
and the explain jobs' pages (``service/jobs/manager.py``), so a job's page is ``/explain``'s answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scorers import ScoringExplainer
from scorers.counterfactuals import Counterfactuals
from scorers.explanation_objects import Explanation, GlobalExplanation
from scorers.interactions import Interactions


def label(v: Any) -> Any:
    """A label as JSON takes it (numpy scalars become Python ones)."""
    return v.item() if isinstance(v, np.generic) else v


def prediction(labels: Any, proba: np.ndarray | None, classes: Any) -> dict[str, Any]:
    """``/predict``'s answer from the predicted labels and the probabilities (classifiers)."""
    out: dict[str, Any] = {"predictions": [label(v) for v in labels]}
    if proba is not None and classes is not None:
        out["probabilities"] = proba.tolist()
        out["classes"] = [label(c) for c in classes]
    return out


def explanation(
    out: dict[str, Any], proba: np.ndarray | None, exp: Explanation, k: int | None
) -> dict[str, Any]:
    """``/explain``'s answer: ``/predict``'s (``out``) plus the explanation of the same rows."""
    out.update(
        features=exp.features,
        output_space=exp.output_space,
        expected_values=exp.expected_values,
        explained_outputs=exp.explained_outputs,
        local_importance_values=exp.local_importance_values,
    )
    if exp.error_estimate is not None:
        body = exp.error_estimate.to_json()
        if not exp.is_classifier:
            body["values"] = [row[0] for row in body["values"]]
        out["error_estimate"] = body
    if exp.refinement is not None and exp.coalitions is not None:
        out["refinement"] = [
            {"status": s, "coalitions": c} for s, c in zip(exp.refinement, exp.coalitions, strict=True)
        ]
    if k is not None:
        out["ranked"] = exp.ranked(k, predicted_index(out, proba, exp.classes))
    return out


def predicted_index(out: dict[str, Any], proba: np.ndarray | None, classes: list[Any] | None) -> list[int]:
    """Per row, the output column of the class ``out["predictions"]`` names: predict()'s label
    (predict_proba can disagree for SVC); 0 for regressors."""
    if classes is not None and proba is not None:
        index = {c: i for i, c in enumerate(classes)}
        return [index.get(label(p), int(np.argmax(proba[i]))) for i, p in enumerate(out["predictions"])]
    return [0] * len(out["predictions"])


def interactions(
    out: dict[str, Any],
    proba: np.ndarray | None,
    inter: Interactions,
    pairs: list[tuple[str, str]] | None,
    k: int | None,
) -> dict[str, Any]:
    """``/explain_interactions``' answer: ``/explain``'s keys (the SHAP values the matrices' rows sum
    to) plus the interaction values, the requested ``pairs`` and the ``k`` strongest pairs."""
    exp = Explanation(
        inter.shap_values,
        inter.base_values,
        inter.outputs,
        inter.features,
        inter.classes,
        inter.output_space,
        inter.method,
    )
    out = explanation(out, proba, exp, None)
    out.update(
        interaction_values=inter.interaction_values,
        interaction_method=inter.method,
        interaction_exact=inter.exact,
        interaction_note=inter.note,
        interaction_errors=inter.interaction_errors,
    )
    if pairs is not None:
        out["pair_values"] = inter.pair_values(pairs)
    if k is not None:
        out["ranked_pairs"] = inter.ranked_pairs(k, predicted_index(out, proba, inter.classes))
    return out


def global_body(glob: GlobalExplanation, k: int | None) -> dict[str, Any]:
    labels = [str(c) for c in glob.classes] if glob.classes is not None else ["value"]

    def by_class(matrix: np.ndarray) -> dict[str, dict[str, float]]:
        return {
            name: dict(zip(glob.features, row, strict=True))
            for name, row in zip(labels, np.asarray(matrix).tolist(), strict=True)
        }

    out: dict[str, Any] = {
        "kind": glob.kind,
        "output_space": glob.output_space,
        "n_rows": glob.n_rows,
        "classes": [label(c) for c in glob.classes] if glob.classes is not None else None,
        "ranked_names": glob.get_ranked_global_names(k),
        "ranked_values": glob.get_ranked_global_values(k),
        "per_class": by_class(glob.per_class),
    }
    if glob.extras:
        out["extras"] = {name: by_class(a) for name, a in glob.extras.items()}
    if glob.info:
        out["info"] = glob.info
    return out


def _cell(v: Any) -> Any:
    v = label(v)
    return None if isinstance(v, float) and np.isnan(v) else v


def counterfactuals(found: Counterfactuals, frame: Any, explainer: ScoringExplainer) -> dict[str, Any]:
    """``/counterfactuals``' answer: per row, its counterfactuals with their changes, predictions and
    SHAP values (laid out as one row of ``/explain``'s)."""
    classes = explainer.classes
    base = np.asarray(explainer.expected_values, dtype=np.float64)
    rows = []
    for (_, original), row in zip(frame.iterrows(), found.rows, strict=True):
        items = []
        exp = row.explanation
        for i, (_, cf) in enumerate(row.frame.iterrows()):
            instance = {name: _cell(cf[name]) for name in explainer.features}
            item: dict[str, Any] = {
                "instance": instance,
                "changes": {
                    name: {"from": _cell(original[name]), "to": instance[name]} for name in row.changed[i]
                },
                "distance": float(row.distances[i]),
                "prediction": label(row.predictions[i]),
            }
            if row.probabilities is not None:
                item["probabilities"] = row.probabilities[i].tolist()
            if exp is not None:
                item["explained_output"] = exp.explained_outputs[i]
                item["local_importance_values"] = exp.local_importance_values[i]
            items.append(item)
        rows.append({"found": row.found, "reason": row.reason, "counterfactuals": items})
    return {
        "target": found.target.to_json(),
        "count": found.count,
        "features": explainer.features,
        "classes": [label(c) for c in classes] if classes is not None else None,
        "output_space": explainer.output_space,
        "expected_values": base.tolist() if classes is not None else float(base[0]),
        "rows": rows,
    }
