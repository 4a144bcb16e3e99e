"""The canonical in-memory form of one explanation, as the store keeps it.

A :class:`Record` is what the codec builds from an upload (an engine object or an HTTP JSON answer)
and what the repository writes and reads: a few facts plus named float64/int64 arrays.

Local (``kind == "local"``), n rows, K outputs (K = 1 for regressors), M features:
``values`` (n, K, M), ``base_values`` (K,), ``outputs`` (n, K); optional ``probabilities`` (n, K),
``predictions`` (n,) and ``true_ys`` (n,) (classifiers: int64 indices into ``classes``; regressors:
float64); ``inputs`` (n, M) (recorded answers: the rows coded by the monitoring baseline).  Global (``kind`` shap, pfi or mimic): ``per_class`` (K, M), ``importance`` (M,) (the
overall importance the ranking follows), and extras ``extra.<name>`` of shape (M,) or (K, M).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
LOCAL = "local"
GLOBAL_KINDS = ("shap", "pfi", "mimic")
KINDS = (LOCAL, *GLOBAL_KINDS)
EXTRA = "extra."
INPUTS = "inputs"
ERROR_VALUES = "error_values"  # a local explanation's per-value error estimate (row, class, feature)


@dataclass(frozen=True)
class Record:
    kind: str
    features: list[str]
    classes: list[Any] | None
    output_space: str
    n_rows: int
    arrays: dict[str, npt.NDArray[Any]]
    info: dict[str, Any] = field(default_factory=dict)
    engineered: bool = False
    scorer: str | None = None
    top_k: int | None = None

    @property
    def is_local(self) -> bool:
        return self.kind == LOCAL

    @property
    def n_classes(self) -> int | None:
        return None if self.classes is None else len(self.classes)

    def per_class(self) -> FloatArray:
        """(K, M): mean |SHAP| per output for a local record, as stored for a global one."""
        if self.is_local:
            values = self.arrays["values"]
            if values.shape[0] == 0:
                return np.zeros(values.shape[1:], dtype=np.float64)
            return np.abs(values).mean(axis=0)
        return self.arrays["per_class"]

    def importance(self) -> FloatArray:
        """(M,): the overall importance the global ranking follows."""
        if self.is_local:
            return self.per_class().mean(axis=0)
        return self.arrays["importance"]

    def extras(self) -> dict[str, FloatArray]:
        return {k[len(EXTRA) :]: v for k, v in self.arrays.items() if k.startswith(EXTRA)}

    def nbytes(self) -> int:
        return int(sum(a.nbytes for a in self.arrays.values()))

    def trimmed(self, top_k: int | None) -> Record:
        """Only the top-k features: the overall top k plus each output's top k (their union, in the
        original feature order), so that overall and per-class rankings up to k stay exact."""
        if top_k is None:
            return self
        k = min(top_k, self.top_k) if self.top_k is not None else top_k
        per_class = self.per_class()
        keep = set(_top(self.importance(), k))
        for row in per_class:
            keep.update(_top(row, k))
        cols = np.array(sorted(keep), dtype=np.int64)
        arrays = {name: _take_features(name, a, cols, self.is_local) for name, a in self.arrays.items()}
        return replace(self, features=[self.features[j] for j in cols], arrays=arrays, top_k=k)


def _top(v: FloatArray, k: int) -> list[int]:
    return [int(j) for j in np.argsort(-v, kind="stable")[:k]]


def _take_features(name: str, a: npt.NDArray[Any], cols: npt.NDArray[np.int64], local: bool) -> Any:
    if local:
        if name == INPUTS:
            return a[:, cols]
        return a[:, :, cols] if name in ("values", ERROR_VALUES) else a  # the per-row error stays the row's
    if name == "per_class" or name.startswith(EXTRA) or name == "importance":
        return a[..., cols]
    return a


def ranking(importance: FloatArray, features: list[str], top_k: int | None) -> tuple[list[str], list[float]]:
    """Names and values by decreasing importance (ties keep feature order), the first ``top_k``."""
    order = np.argsort(-importance, kind="stable")[:top_k]
    return [features[j] for j in order], [float(importance[j]) for j in order]
