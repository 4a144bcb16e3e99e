"""Downloaded explanations, answering the seed's calls (``get_ranked_global_names()`` and friends).

Both kinds answer the global calls: a global explanation from its stored importance, a local one from
the mean |SHAP| of its rows (as ``explain_global`` computes it).  When the explanation was stored or
downloaded with ``top_k``, the ranked calls return at most that many features by default.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from . import codec
from .records import Record, ranking
from .repository import Meta

FloatArray = npt.NDArray[np.float64]


class StoredExplanation:
    """Common part: metadata, the global view and the ranked calls."""

    def __init__(self, record: Record, meta: Meta | None = None) -> None:
        self.record = record
        self.meta = meta

    # -- facts --------------------------------------------------------------------------------------------
    @property
    def id(self) -> str | None:
        return self.meta.id if self.meta else None

    @property
    def comment(self) -> str | None:
        return self.meta.comment if self.meta else None

    @property
    def created(self) -> datetime | None:
        return self.meta.created if self.meta else None

    @property
    def kind(self) -> str:
        return self.record.kind

    @property
    def features(self) -> list[str]:
        return list(self.record.features)

    @property
    def classes(self) -> list[Any] | None:
        return None if self.record.classes is None else list(self.record.classes)

    @property
    def output_space(self) -> str:
        return self.record.output_space

    @property
    def n_rows(self) -> int:
        return self.record.n_rows

    @property
    def top_k(self) -> int | None:
        return self.record.top_k

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.record.info)

    @property
    def is_raw(self) -> bool:
        return not self.record.engineered

    @property
    def is_engineered(self) -> bool:
        return self.record.engineered

    @property
    def model_name(self) -> str | None:
        return self.meta.model_name if self.meta else None

    @property
    def model_version(self) -> str | None:
        return self.meta.model_version if self.meta else None

    def _k(self, top_k: int | None) -> int | None:
        stored = self.record.top_k
        if top_k is None:
            return stored
        return top_k if stored is None else min(top_k, stored)

    # -- global view --------------------------------------------------------------------------------------
    @property
    def per_class_importance(self) -> FloatArray:
        """(K, M), in feature order."""
        return self.record.per_class()

    @property
    def global_importance_values(self) -> list[float]:
        """Overall importance per feature, in feature order (unsorted)."""
        return self.record.importance().tolist()

    def get_ranked_global_names(self, top_k: int | None = None) -> list[str]:
        return ranking(self.record.importance(), self.record.features, self._k(top_k))[0]

    def get_ranked_global_values(self, top_k: int | None = None) -> list[float]:
        return ranking(self.record.importance(), self.record.features, self._k(top_k))[1]

    def get_feature_importance_dict(self, top_k: int | None = None) -> dict[str, float]:
        names, values = ranking(self.record.importance(), self.record.features, self._k(top_k))
        return dict(zip(names, values, strict=True))

    def get_ranked_per_class_names(self, top_k: int | None = None) -> list[list[str]]:
        """Per output (class, or the one regression output), names by decreasing importance."""
        k = self._k(top_k)
        return [ranking(row, self.record.features, k)[0] for row in self.record.per_class()]

    def get_ranked_per_class_values(self, top_k: int | None = None) -> list[list[float]]:
        k = self._k(top_k)
        return [ranking(row, self.record.features, k)[1] for row in self.record.per_class()]

    # -- out ---------------------------------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """The JSON the store accepts back (``/explain`` or ``/explain_global`` shape)."""
        return codec.to_json(self.record)

    def metadata(self) -> dict[str, Any]:
        return self.meta.to_json() if self.meta else {}

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(id={self.id!r}, kind={self.kind!r}, rows={self.n_rows}, "
            f"features={len(self.record.features)}, output_space={self.output_space!r})"
        )


class StoredGlobalExplanation(StoredExplanation):
    """A stored global explanation of kind shap, pfi or mimic."""

    @property
    def extras(self) -> dict[str, FloatArray]:
        """Extra per-feature arrays (a PFI's ``std``), (M,) or (K, M)."""
        return self.record.extras()


class StoredLocalExplanation(StoredExplanation):
    """A stored local explanation; the arrays keep the engine's (row, class, feature) layout."""

    @property
    def is_classifier(self) -> bool:
        return self.record.classes is not None

    @property
    def values(self) -> FloatArray:
        """(n, K, M); K = 1 for regressors."""
        return self.record.arrays["values"]

    @property
    def base_values(self) -> FloatArray:
        return self.record.arrays["base_values"]

    @property
    def outputs(self) -> FloatArray:
        return self.record.arrays["outputs"]

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

    @property
    def predictions(self) -> list[Any] | None:
        a = self.record.arrays.get("predictions")
        return None if a is None else codec.decode_labels(a, self.record.classes)

    @property
    def probabilities(self) -> list[list[float]] | None:
        a = self.record.arrays.get("probabilities")
        return None if a is None else a.tolist()

    @property
    def true_ys(self) -> list[Any] | None:
        a = self.record.arrays.get("true_ys")
        return None if a is None else codec.decode_labels(a, self.record.classes)

    @property
    def error_estimate(self) -> dict[str, Any] | None:
        """The error estimate stored with the explanation (``/explain``'s ``error_estimate`` shape), or
        None when it was computed without one."""
        return codec.local_to_json(self.record).get("error_estimate")

    def _local_order(self) -> npt.NDArray[np.int64]:
        return np.argsort(-np.abs(self.values), axis=2, kind="stable")

    def get_ranked_local_names(self, top_k: int | None = None) -> list[Any]:
        """Classifiers: [class][row][feature]; regressors: [row][feature]; by decreasing |value|."""
        order = self._local_order()[:, :, : self._k(top_k)]
        names = [
            [[self.record.features[j] for j in order[i, c]] for i in range(order.shape[0])]
            for c in range(order.shape[1])
        ]
        return names if self.is_classifier else names[0]

    def get_ranked_local_values(self, top_k: int | None = None) -> list[Any]:
        order = self._local_order()[:, :, : self._k(top_k)]
        vals = np.transpose(np.take_along_axis(self.values, order, axis=2), (1, 0, 2))
        return vals.tolist() if self.is_classifier else vals[0].tolist()


def wrap(record: Record, meta: Meta | None = None) -> StoredExplanation:
    return StoredLocalExplanation(record, meta) if record.is_local else StoredGlobalExplanation(record, meta)
