"""Model runtimes: the user's model as a function of raw rows, and its head as a function of the
space in which coalitions are masked.

Two backends share one small contract (``predict``, ``predict_proba``, ``output``): a native
scikit-learn estimator or pipeline, and an onnxruntime session.  Masking happens in one of three
*modes*:

- ``identity``: every raw column is numeric and is one model input;
- ``grouped``: a column-wise preprocessor turns each raw column into one or more engineered columns;
  it runs once on the row and the background, and only the final estimator runs on hybrids;
- ``raw``: anything else; hybrids are built from raw values and the whole model runs on them.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from . import spaces
from .errors import UnsupportedModelError
from .schema import NUMBER, Schema

FloatArray = npt.NDArray[np.float64]

CLASSIFIER = "classifier"
REGRESSOR = "regressor"


def _quiet(fn: Callable[..., Any], *args: Any) -> Any:
    # the head of a pipeline (or a model fitted on a DataFrame) is fed plain arrays on purpose
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*valid feature names.*")
        warnings.filterwarnings("ignore", message=".*feature names.*")
        return fn(*args)


def _is_margin_model(est: Any) -> bool:
    """Classifiers whose decision_function is exactly the log-odds behind predict_proba."""
    from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression, LogisticRegressionCV

    return isinstance(
        est,
        (
            LogisticRegression,
            LogisticRegressionCV,
            GradientBoostingClassifier,
            HistGradientBoostingClassifier,
        ),
    )


# --------------------------------------------------------------------------------------------------
# native scikit-learn
# --------------------------------------------------------------------------------------------------
class NativeModel:
    """A fitted scikit-learn estimator or pipeline on raw rows."""

    runtime = "sklearn"

    def __init__(self, model: Any, schema: Schema) -> None:
        from sklearn.base import is_classifier, is_regressor

        self.model = model
        self.schema = schema
        try:
            classifier, regressor = is_classifier(model), is_regressor(model)
        except AttributeError:  # scikit-learn >= 1.6 raises for objects without estimator tags
            classifier = regressor = False
        if classifier:
            self.task = CLASSIFIER
            self.classes: list[Any] = list(model.classes_)
        elif regressor:
            self.task = REGRESSOR
            self.classes = []
        else:
            raise UnsupportedModelError(
                f"{type(model).__name__} is neither a scikit-learn classifier nor a regressor"
            )
        self.wants_frame = hasattr(model, "feature_names_in_") or not schema.numeric_only

    def model_input(self, frame: pd.DataFrame) -> Any:
        return frame if self.wants_frame else frame.to_numpy(dtype=np.float64)

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(_quiet(self.model.predict, self.model_input(frame)))

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        return np.asarray(_quiet(self.model.predict_proba, self.model_input(frame)), dtype=np.float64)


def estimator_output(est: Any, space: str, task: str, n_classes: int) -> Callable[[Any], FloatArray]:
    """f(X) -> (n, K) of a scikit-learn estimator in an output space."""
    if task == REGRESSOR:
        if space != spaces.RAW:
            raise UnsupportedModelError(f"a regressor is explained in the 'raw' space, not '{space}'")
        return lambda x: np.asarray(_quiet(est.predict, x), dtype=np.float64).reshape(len(x), -1)
    if space == spaces.PROBABILITY:
        if not hasattr(est, "predict_proba"):
            raise UnsupportedModelError(f"{type(est).__name__} has no predict_proba; use output space 'raw'")
        return lambda x: np.asarray(_quiet(est.predict_proba, x), dtype=np.float64)
    if space == spaces.LOG_ODDS and not _is_margin_model(est):
        if not hasattr(est, "predict_proba"):
            raise UnsupportedModelError(f"{type(est).__name__} has no predict_proba; use output space 'raw'")
        return lambda x: spaces.from_probability(_quiet(est.predict_proba, x), spaces.LOG_ODDS)
    if not hasattr(est, "decision_function"):
        raise UnsupportedModelError(f"{type(est).__name__} has no decision_function for the '{space}' space")
    return lambda x: spaces.from_margin(_quiet(est.decision_function, x), space, n_classes)


# --------------------------------------------------------------------------------------------------
# onnxruntime
# --------------------------------------------------------------------------------------------------
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


class OnnxModel:
    """An ONNX graph on raw rows, as a black box."""

    runtime = "onnxruntime"

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

    # -- contract -----------------------------------------------------------------------------------
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

    def output_fn(self, space: str, mode: str, schema: Schema) -> Callable[[Any], FloatArray]:
        if self.task == REGRESSOR:
            if space != spaces.RAW:
                raise UnsupportedModelError(f"a regressor is explained in the 'raw' space, not '{space}'")
            name = self.sig.value_output
        else:
            if space == spaces.RAW:
                raise UnsupportedModelError("an ONNX classifier is explained in 'probability' or 'log_odds'")
            name = self.sig.proba_output

        def run(h: Any) -> FloatArray:
            feed = self._feed_values(h) if mode == "identity" else self._feed_frame(raw_frame(h, schema))
            out = self._run(feed, name)
            if self.task == REGRESSOR:
                return np.asarray(out, dtype=np.float64).reshape(len(h), -1)
            return spaces.from_probability(self._proba_from(out), space)

        return run


def raw_frame(values: np.ndarray, schema: Schema) -> pd.DataFrame:
    """An object array of raw hybrids back to a typed DataFrame."""
    data = {}
    for j, feat in enumerate(schema.features):
        col = values[:, j]
        data[feat.name] = col.astype(np.float64) if feat.dtype == NUMBER else col
    return pd.DataFrame(data, columns=schema.names)


def time_call(fn: Callable[[Any], Any], arg: Any, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best
