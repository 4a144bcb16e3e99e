"""The onnxruntime backend: an ONNX graph on raw rows, explained as a black box.

A graph with one input tensor takes every (numeric) raw column in feature order (``identity``
masking); a graph with one input per column takes raw values, strings included (``raw`` masking).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import spaces
from ..errors import UnsupportedModelError
from ..masking import IDENTITY, RAW
from ..schema import Schema
from .base import CLASSIFIER, REGRESSOR, FloatArray, OutputFn, raw_frame


def ort_session(model_bytes: bytes, threads: int = 1) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


@dataclass
class OnnxSignature:
    """How raw rows feed an ONNX graph: one float tensor of all columns, or one tensor per column."""

    single_input: str | None
    input_types: dict[str, str]
    label_output: str | None
    proba_output: str | None
    value_output: str | None


def _onnx_signature(session: Any) -> OnnxSignature:
    inputs = session.get_inputs()
    types = {i.name: i.type for i in inputs}
    single = inputs[0].name if len(inputs) == 1 else None
    label = proba = value = None
    for out in session.get_outputs():
        if out.type.startswith("seq(map"):
            proba = proba or out.name
        elif out.type == "tensor(int64)" or out.type == "tensor(string)":
            label = label or out.name
        elif out.type in ("tensor(float)", "tensor(double)"):
            if "prob" in out.name.lower():
                proba = out.name
            else:
                value = value or out.name
    return OnnxSignature(single, types, label, proba, value)


class OnnxRuntime:
    """An ONNX graph on raw rows."""

    name = "onnxruntime"
    format = "onnx"

    def __init__(
        self, model_bytes: bytes, schema: Schema, classes: list[Any] | None = None, threads: int = 1
    ) -> None:
        self.model_bytes = model_bytes
        self.session = ort_session(model_bytes, threads)
        self.schema = schema
        self.sig = _onnx_signature(self.session)
        if self.sig.single_input is None:
            missing = [n for n in schema.names if n not in self.sig.input_types]
            if missing:
                raise UnsupportedModelError(
                    f"the ONNX graph has no input named '{missing[0]}'; its inputs are {list(self.sig.input_types)}"
                )
        elif not schema.numeric_only:
            raise UnsupportedModelError("an ONNX graph with one input tensor needs all-numeric raw columns")
        self.task = CLASSIFIER if self.sig.proba_output else REGRESSOR
        self.classes = list(classes) if classes is not None else []

    def learn_classes(self, frame: pd.DataFrame) -> None:
        """Class labels of a classifier graph given without them: its labels on the training rows."""
        if self.task != CLASSIFIER or self.classes:
            return
        probs = self.predict_proba(frame.iloc[:1])
        labels = pd.unique(pd.Series(self.predict(frame)))
        self.classes = (
            sorted(labels.tolist()) if len(labels) == probs.shape[1] else list(range(probs.shape[1]))
        )

    # -- feeding ------------------------------------------------------------------------------------
    def _feed_values(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """values: (n, M) numeric array in feature order (identity mode)."""
        name = self.sig.single_input
        assert name is not None
        dtype = np.float64 if "double" in self.sig.input_types[name] else np.float32
        return {name: np.ascontiguousarray(values, dtype=dtype)}

    def _feed_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.sig.single_input is not None:
            return self._feed_values(frame.to_numpy(dtype=np.float64))
        feed = {}
        for feat in self.schema.features:
            t = self.sig.input_types[feat.name]
            col = frame[feat.name]
            if "string" in t:
                arr = col.astype(object).where(col.notna(), "").astype(str).to_numpy(dtype=object)
            elif "double" in t:
                arr = col.to_numpy(dtype=np.float64)
            elif "int64" in t:
                arr = col.to_numpy(dtype=np.int64)
            else:
                arr = col.to_numpy(dtype=np.float32)
            feed[feat.name] = arr.reshape(-1, 1)
        return feed

    def _run(self, feed: dict[str, np.ndarray], name: str | None) -> Any:
        if name is None:
            raise UnsupportedModelError("the ONNX graph has no output for this")
        return self.session.run([name], feed)[0]

    def _proba_from(self, out: Any) -> FloatArray:
        if isinstance(out, list):  # ZipMap: a list of {class: probability}
            keys = list(out[0].keys())
            if not self.classes:
                self.classes = keys
            return np.array([[row[k] for k in keys] for row in out], dtype=np.float64)
        return np.asarray(out, dtype=np.float64)

    # -- predictions --------------------------------------------------------------------------------
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        feed = self._feed_frame(frame)
        if self.task == REGRESSOR:
            return np.asarray(self._run(feed, self.sig.value_output), dtype=np.float64).reshape(len(frame))
        if self.sig.label_output:
            return np.asarray(self._run(feed, self.sig.label_output)).reshape(len(frame))
        proba = self.predict_proba(frame)
        return np.asarray(self.classes, dtype=object)[proba.argmax(axis=1)]

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        return self._proba_from(self._run(self._feed_frame(frame), self.sig.proba_output))

    # -- masking ------------------------------------------------------------------------------------
    def masking_modes(self) -> list[tuple[str, str]]:
        if self.sig.single_input is not None:
            return [(IDENTITY, "ONNX graph with one input tensor")]
        return [(RAW, "ONNX graph with one input per column")]

    def encoded_names(self) -> list[str] | None:
        return None

    def encoder(self, mode: str) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
        if mode == IDENTITY:
            return (lambda f: np.ascontiguousarray(f.to_numpy(dtype=np.float64))), None
        return (lambda f: f.to_numpy(dtype=object)), None

    def output(self, space: str, mode: str, n_classes: int) -> OutputFn:
        if self.task == REGRESSOR:
            if space != spaces.RAW:
                raise UnsupportedModelError(f"a regressor is explained in the 'raw' space, not '{space}'")
            name = self.sig.value_output
        else:
            if space == spaces.RAW:
                raise UnsupportedModelError("an ONNX classifier is explained in 'probability' or 'log_odds'")
            name = self.sig.proba_output

        def run(h: Any) -> FloatArray:
            feed = self._feed_values(h) if mode == IDENTITY else self._feed_frame(raw_frame(h, self.schema))
            out = self._run(feed, name)
            if self.task == REGRESSOR:
                return np.asarray(out, dtype=np.float64).reshape(len(h), -1)
            return spaces.from_probability(self._proba_from(out), space)

        return run
