"""An affine ONNX graph read as a scikit-learn linear model, for the linear scorer.

From the input tensor, each node that keeps its output an affine function ``x @ A + c`` of the raw
columns is followed in float64: ``Identity``, ``Cast``, ``Scaler``, ``Add`` / ``Sub`` / ``Mul`` / ``Div``
by a constant, ``MatMul`` / ``Gemm`` with constant weights, ``LinearRegressor`` and ``LinearClassifier``
(their scores before the ``post_transform``).  The scores are those of the node that makes the output:
a ``LinearRegressor`` (or the affine output itself: a regressor); a ``LinearClassifier``; or the input of
the first ``Sigmoid`` / ``Softmax`` on the way to the probabilities (skl2onnx's MatMul + Add head of a
logistic regression in double).  Preprocessing that is not affine (``Imputer``, ``OneHotEncoder``,
``Normalizer``, ...) before the scores is refused, with the node named.

A binary classifier's scores are ``[-s, s]`` (skl2onnx writes ``[-w, w]``): its log-odds are ``s``; a
multiclass ``SOFTMAX`` classifier's log-odds are its centred scores.  The model as read is checked
against onnxruntime on every packaged row before it is used (``onnx_read.verify``).  The head is marked
``read_from_onnx_``: the linear scorer then reports the head's own float64 outputs and base value (the
values it explains exactly), which differ from onnxruntime's float32 scores by rounding only.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import numpy_helper

from ..errors import UnsupportedModelError
from .base import CLASSIFIER, REGRESSOR
from .onnx_trees import _attrs

_PASS = ("Identity", "Cast")
_LINK = ("Sigmoid", "Softmax")


class Affine:
    """x @ a + c, x the (n, d) raw columns."""

    def __init__(self, a: np.ndarray, c: np.ndarray) -> None:
        self.a, self.c = a, c


def _const(graph: onnx.GraphProto) -> dict[str, np.ndarray]:
    out = {
        i.name: numpy_helper.to_array(i).astype(np.float64)
        for i in graph.initializer
        if i.data_type in (1, 11)
    }
    for node in graph.node:
        if (
            node.op_type == "Constant"
            and node.attribute
            and node.attribute[0].type == onnx.AttributeProto.TENSOR
        ):
            out[node.output[0]] = numpy_helper.to_array(node.attribute[0].t).astype(np.float64)
    return out


def _step(node: onnx.NodeProto, x: Affine, other: np.ndarray | None, x_first: bool) -> Affine | None:
    """The affine output of ``node`` given its affine input (and a constant operand), else None."""
    op = node.op_type
    if op in _PASS:
        return x
    if op == "Scaler":
        at = _attrs(node)
        off = np.asarray(at.get("offset", [0.0]), dtype=np.float32).astype(np.float64)
        sc = np.asarray(at.get("scale", [1.0]), dtype=np.float32).astype(np.float64)
        return Affine(x.a * sc, (x.c - off) * sc)
    if (
        other is not None
        and op in ("Add", "Sub", "Mul", "Div")
        and other.ndim <= 2
        and other.size in (1, x.c.shape[-1])
    ):
        k = other.reshape(-1)
        if op == "Add":
            return Affine(x.a, x.c + k)
        if op == "Sub":
            return Affine(x.a, x.c - k) if x_first else Affine(-x.a, k - x.c)
        if op == "Mul":
            return Affine(x.a * k, x.c * k)
        if op == "Div" and x_first:
            return Affine(x.a / k, x.c / k)
    if other is not None and op == "MatMul" and x_first and other.ndim == 2:
        return Affine(x.a @ other, x.c @ other)
    if op in ("LinearRegressor", "LinearClassifier"):
        at = _attrs(node)
        coef = np.asarray(at["coefficients"], dtype=np.float32).astype(np.float64)
        icpt = np.asarray(at.get("intercepts") or [0.0], dtype=np.float32).astype(np.float64)
        w = (
            coef.reshape(len(icpt), -1).T
            if op == "LinearClassifier" or len(icpt) > 1
            else coef.reshape(-1, 1)
        )
        return Affine(x.a @ w, x.c @ w + icpt)
    return None


class LinearReading:
    """(head: a scikit-learn linear model on the raw columns, link of its probabilities)."""

    def __init__(self, head: Any, link: str) -> None:
        self.head, self.link = head, link


def read_linear(
    model: onnx.ModelProto, input_name: str, n_features: int, task: str, labels: list[Any]
) -> LinearReading:
    graph = model.graph
    consts = _const(graph)
    aff: dict[str, Affine] = {input_name: Affine(np.eye(n_features), np.zeros(n_features))}
    scores: Affine | None = None
    link = "NONE"
    first_other = ""  # the first node on the inputs that is not affine: the reason when nothing is read
    for node in graph.node:
        ins = [i for i in node.input if i]
        known = [i for i in ins if i in aff]
        if node.op_type == "Constant" or not known:
            continue
        if scores is None and (node.op_type in _LINK or node.op_type == "LinearClassifier"):
            scores = aff[known[0]] if node.op_type in _LINK else _step(node, aff[known[0]], None, True)
            link = node.op_type.upper() if node.op_type in _LINK else str(_attrs(node).get("post_transform"))
            continue
        others = [consts.get(i) for i in ins if i not in aff]
        out = None
        if len(known) == 1 and len(others) <= 1 and all(o is not None for o in others):
            out = _step(node, aff[known[0]], others[0] if others else None, ins[0] == known[0])
        if out is None:
            first_other = first_other or f"node '{node.name or node.op_type}' ({node.op_type}) is not affine"
            continue
        for name in node.output:
            aff[name] = out
    if task == REGRESSOR:
        outs = [o.name for o in graph.output if o.name in aff]
        if scores is None and outs:
            scores = aff[outs[0]]
        if scores is None or link != "NONE":
            raise UnsupportedModelError(first_other or "no affine output of the regressor was found")
        return LinearReading(_regressor(scores), link)
    if scores is None:
        raise UnsupportedModelError(first_other or "no affine scores feed the classifier's probabilities")
    return LinearReading(_classifier(scores, link, labels), link)


def _regressor(s: Affine) -> Any:
    from sklearn.linear_model import LinearRegression

    head = LinearRegression()
    head.coef_ = s.a[:, 0].copy() if s.a.shape[1] == 1 else s.a.T.copy()
    head.intercept_ = float(s.c[0]) if s.a.shape[1] == 1 else s.c.copy()
    head.n_features_in_ = s.a.shape[0]
    head.read_from_onnx_ = True
    return head


def _classifier(s: Affine, link: str, labels: list[Any]) -> Any:
    from sklearn.linear_model import LogisticRegression

    k = s.a.shape[1]
    if len(labels) == 2 and k == 2 and link in ("LOGISTIC", "SIGMOID"):
        if not (np.allclose(s.a[:, 0], -s.a[:, 1], rtol=0, atol=0) and s.c[0] == -s.c[1]):
            raise UnsupportedModelError("binary scores that are not [-s, s]")
        coef, icpt = s.a[:, 1:].T, s.c[1:]
    elif (
        len(labels) == 2
        and k == 1
        and link in ("LOGISTIC", "SIGMOID")
        or k == len(labels) > 2
        and link == "SOFTMAX"
    ):
        coef, icpt = s.a.T, s.c
    else:
        raise UnsupportedModelError(f"{k} scores with link {link} for {len(labels)} classes are not log-odds")
    head = LogisticRegression()
    head.coef_, head.intercept_ = coef.copy(), icpt.copy()
    head.classes_ = np.arange(len(labels))
    head.n_features_in_ = s.a.shape[0]
    head.read_from_onnx_ = True
    return head


__all__ = ["CLASSIFIER", "LinearReading", "read_linear"]
