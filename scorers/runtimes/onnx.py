"""The onnxruntime backend: an ONNX graph on raw rows.

A graph with one input tensor takes every (numeric) raw column in feature order (``identity``
masking); a graph with one input per column takes raw values, strings included (``raw`` masking).
A number is fed as its input's declared element type (``NUMBER_TYPES``: float16/32/64, int8/16/32/64;
another type is refused at construction), an integer type only its integers (``fed_as``); packaging
bounds each number by that type (``number_types``, ``scorers.magnitude``), so a request never reaches
onnxruntime with a number it would turn into infinity or truncate.

A one-input graph made of a tree ensemble or an affine head is read into the head of an exact scorer
(``onnx_read``): the encoder of ``identity`` masking returns it, once ``verify_head`` found it equal to
onnxruntime on every packaged row; else the graph is a black box and the masking reason says why.
Predictions and the explained model function stay onnxruntime's; a classifier whose graph ends in a
``LOGISTIC`` / ``SOFTMAX`` post-transform gives its log-odds from the same graph with the post-transform
removed (its margin, not the log of float32 probabilities), where nothing but pass-through nodes (and, after
a SOFTMAX, an L1 ``Normalizer``, skipped) lies between its scores and the output (``margin_graph``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from .. import spaces
from ..errors import UnsupportedModelError
from ..input_schema import TYPE_BOUNDS, Schema
from ..masking import IDENTITY, RAW
from ..plain_rows import fractional
from .base import CLASSIFIER, REGRESSOR, FloatArray, OutputFn, raw_frame

# the numpy type a number is fed as, by the ONNX input's declared element type (an input of a type not
# here but string is refused at construction); a number is bounded by it (``scorers.magnitude``)
NUMBER_TYPES: dict[str, type[np.generic]] = {
    "tensor(double)": np.float64,
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(int16)": np.int16,
    "tensor(int8)": np.int8,
}
_STRING = "tensor(string)"
_POST = ("TreeEnsembleClassifier", "LinearClassifier")
_KEEP = ("Identity", "Cast", "ZipMap")  # nodes that carry the scores to the output unchanged


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


def fed_as(values: np.ndarray, dtype: type[np.generic], name: str) -> np.ndarray:
    """Numbers as the input ``name`` of element type ``dtype`` takes them.  An integer type takes only
    its integers: a fraction, NaN or a value beyond its bound raises (numpy would truncate, or give
    garbage), so the probes at packaging see it refused and the schema's checks refuse it first."""
    if np.dtype(dtype).kind != "i":
        return np.ascontiguousarray(values, dtype=dtype)
    values = np.asarray(values, dtype=np.float64)
    bound = TYPE_BOUNDS[np.dtype(dtype).name]
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(values) | fractional(values) | (np.abs(values) > bound)
    if bad.any():
        raise ValueError(
            f"the ONNX input '{name}' reads {np.dtype(dtype).name}, integers of magnitude <= {bound!r}; "
            f"got {values[bad][0]!r}"
        )
    return np.ascontiguousarray(values.astype(dtype))


def margin_graph(model_bytes: bytes, proba_output: str | None) -> tuple[bytes, bool] | None:
    """The graph whose probability output carries its classifier's margin, and whether that margin is a
    binary LOGISTIC's ``[-s, s]``; None when the graph has no one such node or when anything but
    ``Identity`` / ``Cast`` / ``ZipMap`` lies between the node's scores and the probability output.

    The post-transform is set to NONE.  An L1 ``Normalizer`` after a SOFTMAX (skl2onnx's multiclass
    logistic regression) leaves softmax probabilities as they are but would rescale the logits, so the
    margin graph skips it (the scores take its output's name); after a LOGISTIC it is one-vs-rest's
    normalisation, which the margin cannot give, so the log-odds then come from the probabilities.
    """
    import onnx

    model = onnx.load_from_string(model_bytes)
    nodes = list(model.graph.node)
    posts = [
        (node, a)
        for node in nodes
        if node.op_type in _POST
        for a in node.attribute
        if a.name == "post_transform" and a.s in (b"LOGISTIC", b"SOFTMAX")
    ]
    if len(posts) != 1 or len(posts[0][0].output) < 2:
        return None
    node, post = posts[0]
    softmax = post.s == b"SOFTMAX"
    producer, index = node, 1  # the node and output slot that carry the scores so far
    for _ in range(len(nodes)):
        name = producer.output[index]
        if name == proba_output:
            post.s = b"NONE"
            return model.SerializeToString(), not softmax
        users = [n for n in nodes if name in n.input]
        if len(users) != 1 or name in (o.name for o in model.graph.output):
            return None
        user = users[0]
        norm = {a.name: a.s for a in user.attribute}.get("norm")
        if softmax and user.op_type == "Normalizer" and norm == b"L1":
            producer.output[index] = user.output[0]  # skip it: the scores take its output's name
            model.graph.node.remove(user)
            nodes.remove(user)
            continue
        if user.op_type not in _KEEP:
            return None
        producer, index = user, 0
    return None


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
        for name, kind in self.sig.input_types.items():
            if kind not in NUMBER_TYPES and not (kind == _STRING and self.sig.single_input is None):
                raise UnsupportedModelError(
                    f"the ONNX input '{name}' is {kind}; shapserve feeds numbers as float16, float32, float64, "
                    "int8, int16, int32 or int64 (and strings to a per-column input of strings)"
                )
        self.task = CLASSIFIER if self.sig.proba_output else REGRESSOR
        self.classes = list(classes) if classes is not None else []
        self._head: tuple[Any, str] | None = None  # (head or None, what was read or why not)
        self._margin: Any = None

    # -- the graph read as an exact scorer's head ---------------------------------------------------
    def _reading(self) -> tuple[Any, str]:
        if self._head is None:
            if self.sig.single_input is None:
                self._head = (None, "not read: one input per column")
                return self._head
            from . import onnx_read  # the onnx package, imported only for an ONNX model

            n_classes = len(self.classes) if self.task == CLASSIFIER else 1
            try:
                head = onnx_read.read_head(
                    self.model_bytes,
                    self.sig.single_input,
                    len(self.schema.names),
                    self.task,
                    [0] * n_classes,
                )
                self._head = (head, f"read as {type(head).__name__} {getattr(head, 'wrapper', '')}".strip())
            except (UnsupportedModelError, KeyError, ValueError, IndexError, StopIteration) as exc:
                self._head = (None, f"not read exactly: {exc}")
        return self._head

    def verify_head(self, frame: pd.DataFrame) -> None:
        """Drop the head read from the graph unless it gives onnxruntime's output on every row."""
        head, note = self._reading()
        if head is None:
            return
        from . import onnx_read

        n_classes = len(self.classes) if self.task == CLASSIFIER else 1
        space = onnx_read.head_space(head, self.task)
        x = frame.to_numpy(dtype=np.float64)
        why = onnx_read.verify(head, self.task, n_classes, self.output(space, IDENTITY, n_classes), x)
        self._head = (
            (None, f"not read exactly: {why}")
            if why
            else (head, f"{note}, equal to onnxruntime on {len(x)} packaged rows")
        )

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
    def number_types(self) -> dict[str, str]:
        """Each number feature's numpy type as the graph reads it ("float32", "int64", ...)."""
        single = self.sig.single_input
        return {
            feat.name: np.dtype(NUMBER_TYPES[kind]).name
            for feat in self.schema.features
            if (kind := self.sig.input_types[single or feat.name]) in NUMBER_TYPES
        }

    def _feed_values(self, values: np.ndarray) -> dict[str, np.ndarray]:
        """values: (n, M) numeric array in feature order (identity mode)."""
        name = self.sig.single_input
        assert name is not None
        return {name: fed_as(values, NUMBER_TYPES[self.sig.input_types[name]], name)}

    def _feed_frame(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        if self.sig.single_input is not None:
            return self._feed_values(frame.to_numpy(dtype=np.float64))
        feed = {}
        for feat in self.schema.features:
            t = self.sig.input_types[feat.name]
            col = frame[feat.name]
            if t == _STRING:
                arr = col.astype(object).where(col.notna(), "").astype(str).to_numpy(dtype=object)
            else:
                arr = fed_as(col.to_numpy(dtype=np.float64), NUMBER_TYPES[t], feat.name)
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
            return [(IDENTITY, f"ONNX graph with one input tensor; {self._reading()[1]}")]
        return [(RAW, "ONNX graph with one input per column")]

    def encoded_names(self) -> list[str] | None:
        return None

    def encoder(self, mode: str) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
        if mode == IDENTITY:
            return (lambda f: np.ascontiguousarray(f.to_numpy(dtype=np.float64))), self._reading()[0]
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
            if space == spaces.LOG_ODDS and mode == IDENTITY and self._margin_session() is not None:
                return self._margin_output(n_classes)

        def run(h: Any) -> FloatArray:
            feed = self._feed_values(h) if mode == IDENTITY else self._feed_frame(raw_frame(h, self.schema))
            out = self._run(feed, name)
            if self.task == REGRESSOR:
                return np.asarray(out, dtype=np.float64).reshape(len(h), -1)
            return spaces.from_probability(self._proba_from(out), space)

        return run

    # -- log-odds from the margin ---------------------------------------------------------------------
    def _margin_session(self) -> Any:
        """The graph with its classifier node's LOGISTIC / SOFTMAX post-transform removed, or False."""
        if self._margin is None:
            found = margin_graph(self.model_bytes, self.sig.proba_output)
            self._halve = found is not None and found[1]  # [-s, s] scores, else softmax logits
            self._margin = ort_session(found[0]) if found is not None else False
        return self._margin or None

    def _margin_output(self, n_classes: int) -> OutputFn:
        session = self._margin_session()
        name = self.sig.proba_output

        def run(h: Any) -> FloatArray:
            out = session.run([name], self._feed_values(h))[0]
            scores = self._proba_from(out) if isinstance(out, list) else np.asarray(out, dtype=np.float64)
            if n_classes == 2:  # binary LOGISTIC scores are [-s, s] with log-odds s; SOFTMAX logits differ
                m = (scores[:, 1] - scores[:, 0]) / (2 if self._halve else 1)
                return np.column_stack([-m, m])
            return scores - scores.mean(axis=1, keepdims=True)

        return run
