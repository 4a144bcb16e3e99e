"""The generic backend: any object with ``predict`` (and ``predict_proba`` for a classifier), a black box.

What shapserve knows of such a model is only what it answers.  It is a classifier when it has
``predict_proba`` (or when the caller says ``task="classifier"``), a regressor otherwise (or with
``task="regressor"``).  Its class labels are its ``classes_``, else the labels its ``predict`` gives on the
training rows when they are as many as the probability columns (sorted), else 0..K-1.  It is fed the raw
rows as scikit-learn would feed it: a float array when every column is a number and it has no
``feature_names_in_``, the DataFrame otherwise; and it is explained as a black box over the raw columns
(``exact`` or ``kernel``).  Its artifact file can only be a pickle, under the pickle-trust rule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from .. import spaces
from ..errors import InputError, UnsupportedModelError
from ..input_schema import Schema
from ..masking import IDENTITY, RAW
from .base import CLASSIFIER, REGRESSOR, FloatArray, OutputFn, quiet, raw_frame

TASKS = (CLASSIFIER, REGRESSOR)


def task_of(model: Any, task: str | None) -> str:
    """The task of a black box: the caller's hint, else classifier iff it has ``predict_proba``."""
    if task is not None and task not in TASKS:
        raise InputError(f"unknown task '{task}'; expected one of {list(TASKS)}", field="task")
    if not callable(getattr(model, "predict", None)):
        raise UnsupportedModelError(
            f"{type(model).__name__} cannot be explained: it has no predict method. shapserve takes a "
            "scikit-learn estimator or Pipeline, a LightGBM or XGBoost model, an ONNX graph, or any object "
            "with predict (and predict_proba for a classifier)"
        )
    has_proba = callable(getattr(model, "predict_proba", None))
    if task == CLASSIFIER and not has_proba:
        raise UnsupportedModelError(
            f"{type(model).__name__} is a classifier (task='classifier') without predict_proba: shapserve "
            "explains class probabilities, so it needs predict_proba"
        )
    return task or (CLASSIFIER if has_proba else REGRESSOR)


class GenericRuntime:
    """Any object with predict / predict_proba, on raw rows, as a black box."""

    name = "generic"
    format = "joblib"  # a pickle: only on trust or a pinned sha256 (scorers.model_io)

    def __init__(
        self, model: Any, schema: Schema, *, task: str | None = None, labels: list[Any] | None = None
    ) -> None:
        self.model = model
        self.schema = schema
        self.task = task_of(model, task)
        self.classes: list[Any] = []
        if self.task == CLASSIFIER:
            own = getattr(model, "classes_", None)
            if labels is not None:
                self.classes = list(labels)
            elif own is not None:
                self.classes = list(own)

    @property
    def wants_frame(self) -> bool:
        return hasattr(self.model, "feature_names_in_") or not self.schema.numeric_only

    def model_input(self, frame: pd.DataFrame) -> Any:
        return frame if self.wants_frame else np.ascontiguousarray(frame.to_numpy(dtype=np.float64))

    def learn_classes(self, frame: pd.DataFrame) -> None:
        """Labels of a classifier without ``classes_``: its predictions on the training rows, sorted,
        when they are as many as its probability columns; else 0..K-1."""
        if self.task != CLASSIFIER or self.classes:
            return
        k = self.predict_proba(frame.iloc[:1]).shape[1]
        labels = pd.unique(pd.Series(np.asarray(self.predict(frame)).tolist()))
        self.classes = sorted(labels.tolist()) if len(labels) == k else list(range(k))

    # -- predictions --------------------------------------------------------------------------------
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        out = np.asarray(quiet(self.model.predict, self.model_input(frame)))
        return out.reshape(len(frame)) if out.size == len(frame) else out

    def _values(self, x: Any, n: int) -> FloatArray:
        out = np.asarray(quiet(self.model.predict, x), dtype=np.float64)
        if out.size != n:
            raise UnsupportedModelError(
                f"{type(self.model).__name__}.predict returned shape {out.shape} for {n} rows; a regressor "
                "with several outputs is not supported"
            )
        return out

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        if self.task != CLASSIFIER:
            raise UnsupportedModelError("a regressor has no class probabilities")
        return self._proba(self.model_input(frame), len(frame))

    def _proba(self, x: Any, n: int) -> FloatArray:
        p = np.asarray(quiet(self.model.predict_proba, x), dtype=np.float64)
        if p.ndim != 2 or p.shape[0] != n:
            raise UnsupportedModelError(
                f"{type(self.model).__name__}.predict_proba returned shape {p.shape}; expected (rows, classes)"
            )
        return p

    # -- masking --------------------------------------------------------------------------------------
    def masking_modes(self) -> list[tuple[str, str]]:
        if self.wants_frame:
            return [(RAW, "a black box fed DataFrames")]
        return [(IDENTITY, "a black box fed numeric arrays")]

    def encoded_names(self) -> list[str] | None:
        return None

    def encoder(self, mode: str) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
        if mode == IDENTITY:
            return (lambda f: np.ascontiguousarray(f.to_numpy(dtype=np.float64))), None
        return (lambda f: f.to_numpy(dtype=object)), None

    def output(self, space: str, mode: str, n_classes: int) -> OutputFn:
        if mode == IDENTITY:
            feed: Callable[[Any], Any] = lambda h: np.ascontiguousarray(h, dtype=np.float64)  # noqa: E731
        else:
            feed = lambda h: raw_frame(h, self.schema)  # noqa: E731
        if self.task == REGRESSOR:
            if space != spaces.RAW:
                raise UnsupportedModelError(f"a regressor is explained in the 'raw' space, not '{space}'")
            return lambda h: self._values(feed(h), len(h)).reshape(len(h), 1)
        if space == spaces.RAW:
            raise UnsupportedModelError(
                "a black-box classifier is explained in the 'probability' or 'log_odds' space"
            )
        return lambda h: spaces.from_probability(self._proba(feed(h), len(h)), space)
