"""Read an ONNX graph into an exact scorer's head, and check it against onnxruntime.

``read_head``: a graph with one float input whose output is made by one ``TreeEnsemble*`` node fed by
the input (``onnx_trees.OnnxTrees``, the tree scorer) or by an affine chain (``onnx_linear``, the linear
scorer); anything else is a black box, with the reason.  ``verify``: the head as read must give
onnxruntime's own output, in the space the exact scorer explains, on every packaged row, within
the tolerances below (float32 graphs round each score once per tree); else the head is dropped and the model is
explained as a black box, the reason in the packaging report.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx

from .. import spaces
from ..errors import UnsupportedModelError
from .base import CLASSIFIER, FloatArray, OutputFn
from .onnx_linear import read_linear
from .onnx_trees import OnnxTrees

_TREES = ("TreeEnsembleClassifier", "TreeEnsembleRegressor")
_PASS = ("Identity", "Cast")
# The head as read and onnxruntime must agree on every packaged row (a float32 graph rounds its scores):
# each difference d = read - onnxruntime is within a relative float32-scale tolerance of onnxruntime's
# output.  A tree head's differences must also spread over at most SPREAD_TOL, so that values exact for
# the head as read are additive to 1e-6 against onnxruntime's own output with any background of
# packaged rows (phi sums to read(x) - E_b read(b), off onnxruntime's by d(x) - E_b d(b)).  A linear head
# is exempt: the linear scorer reports its outputs and base value from the head as read (float64), as the
# tree scorer does from the leaves of an XGBoost model, so its values are additive whatever the spread
# (a float32 LinearClassifier's scores spread by ~1e-5 over the rows: issue 24).
SPREAD_TOL = 1e-6
VERIFY_RTOL = 1e-6


def read_head(model_bytes: bytes, input_name: str, n_features: int, task: str, labels: list[Any]) -> Any:
    """The head read from the graph (``OnnxTrees`` or a scikit-learn linear model); raises
    UnsupportedModelError saying why the graph is not read."""
    model = onnx.load_from_string(model_bytes)
    inp = next(i for i in model.graph.input if i.name == input_name)
    float32 = inp.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    fed = {input_name}
    for node in model.graph.node:
        if node.op_type in _PASS and node.input and node.input[0] in fed:
            fed.update(node.output)
        elif node.op_type in _TREES and node.input[0] in fed:
            trees = OnnxTrees(node, n_features, float32)
            if trees.task != task:
                raise UnsupportedModelError(f"a {node.op_type} in a {task} graph")
            return trees
    if any(node.op_type in _TREES for node in model.graph.node):
        raise UnsupportedModelError("the tree ensemble is not fed the input directly (preprocessing first)")
    return read_linear(model, input_name, n_features, task, labels).head


def head_space(head: Any, task: str) -> str:
    """The space the exact scorer explains the head in (probability for forests of class fractions,
    log-odds for margin models, raw for regressors)."""
    if isinstance(head, OnnxTrees):
        return head.native_space()
    return spaces.LOG_ODDS if task == CLASSIFIER else spaces.RAW


def head_output(head: Any, task: str, space: str, n_classes: int) -> OutputFn:
    if isinstance(head, OnnxTrees):
        return head.output(space, task, n_classes)
    from .sklearn import estimator_output

    return estimator_output(head, space, task, n_classes)


def verify(head: Any, task: str, n_classes: int, onnx_fn: OutputFn, x: np.ndarray) -> str | None:
    """None when the head as read gives onnxruntime's output on every row of ``x``; else why not."""
    space = head_space(head, task)
    ours: FloatArray = head_output(head, task, space, n_classes)(x)
    theirs = onnx_fn(x)
    d = ours - theirs
    diff = float(np.max(np.abs(d), initial=0.0))
    spread = float(np.max(np.ptp(d, axis=0), initial=0.0)) if len(d) else 0.0
    tol = VERIFY_RTOL * max(1.0, float(np.max(np.abs(theirs), initial=0.0)))
    spread_tol = SPREAD_TOL if isinstance(head, OnnxTrees) else np.inf
    if not np.isfinite(diff) or diff > tol or spread > spread_tol:
        return (
            f"the graph as read differs from onnxruntime by up to {diff:.3g} (spread {spread:.3g}) in the "
            f"{space} space on the packaged rows (tolerances {tol:.3g}, spread {spread_tol:g})"
        )
    return None
