"""The service's answers as plain dicts: one formatter, shared by the request path (``service/core.py``)
and the explain jobs' pages (``service/jobs/manager.py``), so a job's page is ``/explain``'s answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from scorers.explanation_objects import Explanation, GlobalExplanation


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
        # the predicted class: the column of predict()'s label (predict_proba can disagree for SVC)
        if exp.classes is not None and proba is not None:
            index = {c: i for i, c in enumerate(exp.classes)}
            which = [index.get(label(p), int(np.argmax(proba[i]))) for i, p in enumerate(out["predictions"])]
        else:
            which = [0] * len(out["predictions"])
        out["ranked"] = exp.ranked(k, which)
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
