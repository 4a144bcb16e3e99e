"""Gradient-boosting libraries (LightGBM, XGBoost) behind one adapter, and their runtime.

A ``NativeBooster`` (``runtimes/native_booster.py``) wraps one library's booster in its canonical
form; ``adapt`` and ``load_native`` choose the library's subclass.  Library specifics live in
``runtimes/lightgbm.py`` and ``runtimes/xgboost.py``; the tree scorer reads the same adapter's booster
(``scorers/kinds/tree_sources.py``).

``BoosterRuntime`` serves a bare booster or scikit-learn wrapper (``LGBMClassifier``, ``XGBRegressor``,
...) on numeric raw rows (``identity`` masking, the adapter is the head).  A wrapper inside a
scikit-learn ``Pipeline`` stays with the scikit-learn runtime, which asks the adapter for the head's
outputs (``runtimes.sklearn.estimator_output``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..input_schema import Schema
from ..masking import IDENTITY
from .base import CLASSIFIER, FloatArray, OutputFn
from .native_booster import NativeBooster


def library_of(model: Any) -> str | None:
    """'lightgbm' / 'xgboost' for a booster or scikit-learn wrapper of these libraries, else None.

    Decided from the class's module, so neither library is imported for other models.
    """
    if isinstance(model, NativeBooster):
        return model.library
    module = type(model).__module__.split(".")[0]
    return module if module in ("lightgbm", "xgboost") else None


def adapt(model: Any, *, task: str | None = None, labels: list[Any] | None = None) -> NativeBooster | None:
    """The adapter of a LightGBM / XGBoost booster or scikit-learn wrapper; None for other models."""
    if isinstance(model, NativeBooster):
        return model
    library = library_of(model)
    if library == "lightgbm":
        from .lightgbm import LightGBMModel

        return LightGBMModel.from_model(model, task=task, labels=labels)
    if library == "xgboost":
        from .xgboost import XGBoostModel

        return XGBoostModel.from_model(model, task=task, labels=labels)
    return None


def load_native(fmt: str, data: bytes, *, task: str, labels: list[Any] | None) -> NativeBooster:
    """The adapter of an artifact's model file in format ``fmt`` (the manifest's model.format)."""
    if fmt == "lightgbm":
        from .lightgbm import LightGBMModel

        return LightGBMModel.from_bytes(data, task=task, labels=labels)
    from .xgboost import XGBoostModel

    return XGBoostModel.from_bytes(data, task=task, labels=labels)


class BoosterRuntime:
    """A LightGBM or XGBoost model (booster or scikit-learn wrapper) on numeric raw rows."""

    def __init__(self, native: NativeBooster, schema: Schema) -> None:
        native.check_features(schema)
        self.native = native
        self.name = native.library
        self.format = native.format
        self.schema = schema
        self.task = native.task
        self.classes: list[Any] = list(native.labels)

    def _x(self, frame: pd.DataFrame) -> np.ndarray:
        return np.ascontiguousarray(frame.to_numpy(dtype=np.float64))

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        x = self._x(frame)
        if self.task == CLASSIFIER:
            return self.native.predict_labels(x)
        return self.native.value(x)

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        return self.native.proba(self._x(frame))

    def masking_modes(self) -> list[tuple[str, str]]:
        return [(IDENTITY, "numeric columns")]

    def encoded_names(self) -> list[str] | None:
        return None

    def encoder(self, mode: str) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
        return self._x, self.native

    def output(self, space: str, mode: str, n_classes: int) -> OutputFn:
        return self.native.output(space, self.task, n_classes)
