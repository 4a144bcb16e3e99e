"""Explanation objects: local (per row) and global (over an evaluation sample).

Vocabulary follows the AzureML scoring service and shap's ``Explanation``: ``features``,
``expected_values``, ``local_importance_values``, ranked names and values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def _jsonable(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    return v


@dataclass
class Explanation:
    """Local explanation of n rows.

    ``values``: (n, K, M) for classifiers (K classes) and (n, 1, M) for regressors, M raw features;
    ``base_values``: (K,); ``outputs``: (n, K) the model output in ``output_space``.  For every row and
    output, ``base_values[k] + values[i, k].sum() == outputs[i, k]``.
    """

    values: FloatArray
    base_values: FloatArray
    outputs: FloatArray
    features: list[str]
    classes: list[Any] | None
    output_space: str
    scorer: str
    # each row's estimated distance to its full-data values (scorers.errorbars); None when not asked for
    error_estimate: Any = None
    # with max_error: per row, whether the target was met or what stopped the refinement (errorbars.refine)
    refinement: list[str] | None = None
    coalitions: list[int] | None = None

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    @property
    def local_importance_values(self) -> list[Any]:
        """[row][class][feature] for classifiers, [row][feature] for regressors."""
        return (self.values if self.is_classifier else self.values[:, 0, :]).tolist()

    @property
    def expected_values(self) -> list[float] | float:
        return self.base_values.tolist() if self.is_classifier else float(self.base_values[0])

    @property
    def explained_outputs(self) -> list[Any]:
        return (self.outputs if self.is_classifier else self.outputs[:, 0]).tolist()

    def additivity_error(self) -> float:
        recon = self.base_values[None, :] + self.values.sum(axis=2)
        return float(np.max(np.abs(recon - self.outputs))) if self.values.size else 0.0

    def ranked(
        self, top_k: int, output_index: list[int] | npt.NDArray[np.int64]
    ) -> list[dict[str, list[Any]]]:
        """Per row, the top-k features by |value| for one output (the predicted class): every row's order
        from one stable sort along the features, the same order as each row sorted alone."""
        rows = np.arange(len(output_index))[:, None]
        v = self.values[rows[:, 0], np.asarray(output_index, dtype=np.intp)]  # (n, M): each row's output
        order = np.argsort(-np.abs(v), axis=1, kind="stable")[:, :top_k]
        names = self.features
        values = v[rows, order].tolist()
        return [
            {"names": [names[j] for j in row], "values": x}
            for row, x in zip(order.tolist(), values, strict=True)
        ]

    def get_ranked_local_names(self) -> list[list[list[str]]]:
        """Seed API: per output, per row, feature names by decreasing |importance|."""
        order = np.argsort(-np.abs(self.values), axis=2, kind="stable")
        return [
            [[self.features[j] for j in order[i, k]] for i in range(order.shape[0])]
            for k in range(order.shape[1])
        ]

    def get_ranked_local_values(self) -> list[list[list[float]]]:
        order = np.argsort(-np.abs(self.values), axis=2, kind="stable")
        vals = np.take_along_axis(self.values, order, axis=2)
        return np.transpose(vals, (1, 0, 2)).tolist()


@dataclass
class GlobalExplanation:
    """Global feature importance of one kind, per output (``per_class`` (K, M)) and averaged over outputs.

    ``kind``: ``shap`` (mean |SHAP| over rows, per class), ``pfi`` (permutation importance: the drop of a
    metric when a feature is shuffled; one row, ``classes`` None, the metric in ``info``) or ``mimic`` (mean
    |SHAP| of a global surrogate trained on the model's outputs; its fidelity in ``info``).  ``extras``
    holds per-feature arrays of a kind with the shape of ``per_class`` (a PFI's ``std`` over repeats);
    ``info`` its scalar facts (JSON values).  ``to_json``/``from_json`` round-trip all of it.
    """

    per_class: FloatArray
    features: list[str]
    classes: list[Any] | None
    output_space: str
    n_rows: int
    kind: str = "shap"
    extras: dict[str, FloatArray] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def importance(self) -> FloatArray:
        return self.per_class.mean(axis=0)

    @property
    def std(self) -> FloatArray | None:
        """The spread of a PFI's repeats, (1, M); None for other kinds."""
        return self.extras.get("std")

    @property
    def global_importance_values(self) -> list[float]:
        """Seed API: the overall importance per feature, in feature order."""
        return self.importance.tolist()

    @property
    def per_class_values(self) -> list[list[float]]:
        """Seed API: [class][feature] in feature order (one row for PFI: the metric)."""
        return self.per_class.tolist()

    def get_ranked_global_names(self, top_k: int | None = None) -> list[str]:
        order = np.argsort(-self.importance, kind="stable")[:top_k]
        return [self.features[j] for j in order]

    def get_ranked_global_values(self, top_k: int | None = None) -> list[float]:
        return sorted(self.importance.tolist(), reverse=True)[:top_k]

    def get_feature_importance_dict(self, top_k: int | None = None) -> dict[str, float]:
        return dict(
            zip(self.get_ranked_global_names(top_k), self.get_ranked_global_values(top_k), strict=True)
        )

    def get_ranked_per_class_names(self, top_k: int | None = None) -> list[list[str]]:
        """Seed API: per class, feature names by decreasing importance."""
        order = np.argsort(-self.per_class, axis=1, kind="stable")[:, :top_k]
        return [[self.features[j] for j in row] for row in order]

    def get_ranked_per_class_values(self, top_k: int | None = None) -> list[list[float]]:
        order = np.argsort(-self.per_class, axis=1, kind="stable")[:, :top_k]
        return np.take_along_axis(self.per_class, order, axis=1).tolist()

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "features": self.features,
            "classes": [_jsonable(c) for c in self.classes] if self.classes is not None else None,
            "output_space": self.output_space,
            "n_rows": self.n_rows,
            "per_class": self.per_class.tolist(),
            "ranked_names": self.get_ranked_global_names(),
            "ranked_values": self.get_ranked_global_values(),
        }
        if self.extras:
            out["extras"] = {k: np.asarray(v, dtype=np.float64).tolist() for k, v in self.extras.items()}
        if self.info:
            out["info"] = self.info
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> GlobalExplanation:
        return cls(
            np.asarray(d["per_class"], dtype=np.float64),
            d["features"],
            d["classes"],
            d["output_space"],
            d["n_rows"],
            kind=d.get("kind") or "shap",
            extras={k: np.asarray(v, dtype=np.float64) for k, v in (d.get("extras") or {}).items()},
            info=dict(d.get("info") or {}),
        )
