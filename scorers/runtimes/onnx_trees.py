"""An ONNX-ML ``TreeEnsembleClassifier`` / ``TreeEnsembleRegressor`` read as trees, for the tree scorer.

``OnnxTrees`` is a ``NativeBooster`` (library ``onnx``): the tree scorer's leaf-box source
(``kinds/tree_sources.py``) walks its trees, and its ``margin`` / ``proba`` / ``value`` evaluate the trees
as read, in float64, by a separate node-by-node traversal (what the graph is checked against, with
onnxruntime, on every packaged row: ``onnx_read.verify``).

How onnxruntime routes a row: ``BRANCH_LEQ`` goes to the true child when ``x <= t``, ``BRANCH_LT``
when ``x < t``, ``BRANCH_GTE`` / ``BRANCH_GT`` likewise; a float input is compared in float32 against
float32 thresholds; NaN goes to the true child where ``nodes_missing_value_tracks_true`` says so, else
to the false child (every comparison with NaN is false).  A leaf adds its weights to its outputs; the
scores are ``base_values + sum`` (``AVERAGE``: the sum over the number of trees).

What is read (anything else is refused with the reason): regressors with ``post_transform`` NONE and
``SUM`` / ``AVERAGE``; classifiers with NONE and one weight per class (a forest averaging class
fractions: the probability space), with ``LOGISTIC`` in the binary case (one score ``s``, onnxruntime
returns ``[-s, s]``: the margin of a LightGBM / XGBoost binary model) and with ``SOFTMAX`` (multiclass
boosters: centred logits).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import spaces
from ..errors import UnsupportedModelError
from .base import CLASSIFIER, REGRESSOR, FloatArray
from .native_booster import NativeBooster

if TYPE_CHECKING:
    import onnx

_MODES = ("BRANCH_LEQ", "BRANCH_LT", "BRANCH_GTE", "BRANCH_GT")
_INF = float("inf")


def _attrs(node: onnx.NodeProto) -> dict[str, Any]:
    # onnx imported here: the tree scorer imports this module for every model, and only ONNX models
    # bring the onnx package (scorers/runtime_packages.py)
    import onnx
    from onnx import helper, numpy_helper

    out: dict[str, Any] = {}
    for a in node.attribute:
        if a.type == onnx.AttributeProto.TENSOR:
            out[a.name] = numpy_helper.to_array(a.t)
        else:
            v = helper.get_attribute_value(a)
            out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _floats(at: dict[str, Any], name: str) -> np.ndarray | None:
    """A float list attribute, or its ``_as_tensor`` twin (ai.onnx.ml opset 3, double thresholds)."""
    if f"{name}_as_tensor" in at:
        return np.asarray(at[f"{name}_as_tensor"], dtype=np.float64)
    if name in at:
        return np.asarray(at[name], dtype=np.float32).astype(np.float64)
    return None


class OnnxTrees(NativeBooster):
    library = "onnx"
    format = "onnx"
    suffix = ".onnx"

    def __init__(self, node: onnx.NodeProto, n_features: int, float32: bool) -> None:
        at = _attrs(node)
        self.wrapper = node.op_type
        self.n_features = n_features
        self.feature_names = None
        self.float32 = float32
        self.post = str(at.get("post_transform", "NONE"))
        classifier = node.op_type == "TreeEnsembleClassifier"
        self.task = CLASSIFIER if classifier else REGRESSOR
        prefix = "class" if classifier else "target"
        tree_ids = np.asarray(at["nodes_treeids"], dtype=np.int64)
        node_ids = np.asarray(at["nodes_nodeids"], dtype=np.int64)
        modes = [str(m.decode() if isinstance(m, bytes) else m) for m in at["nodes_modes"]]
        bad = sorted({m for m in modes if m not in _MODES and m != "LEAF"})
        if bad:
            raise UnsupportedModelError(f"node modes {bad} are not read (only {list(_MODES)})")
        thresholds = _floats(at, "nodes_values")
        assert thresholds is not None
        index = {(int(t), int(n)): i for i, (t, n) in enumerate(zip(tree_ids, node_ids, strict=True))}
        self.feature = np.asarray(at["nodes_featureids"], dtype=np.int64)
        self.threshold = thresholds
        self.mode = np.array([_MODES.index(m) if m != "LEAF" else -1 for m in modes])
        n_nodes = len(modes)
        tracks = at.get("nodes_missing_value_tracks_true") or [0] * n_nodes
        self.nan_true = np.asarray(tracks, dtype=bool)
        self.true_child = np.array(
            [index.get((int(t), int(c)), -1) for t, c in zip(tree_ids, at["nodes_truenodeids"], strict=True)]
        )
        self.false_child = np.array(
            [index.get((int(t), int(c)), -1) for t, c in zip(tree_ids, at["nodes_falsenodeids"], strict=True)]
        )
        self.roots = np.array([index[(int(t), 0)] for t in np.unique(tree_ids)])
        if classifier:
            labels = at.get("classlabels_int64s") or [s.decode() for s in at.get("classlabels_strings", [])]
            self.labels = list(labels)
        else:
            self.labels = []
        ids = np.asarray(at[f"{prefix}_ids"], dtype=np.int64)
        weights = _floats(at, f"{prefix}_weights")
        assert weights is not None
        out_ids = sorted(set(ids.tolist()))
        n_out = len(self.labels) if classifier else int(at.get("n_targets", 1))
        # onnxruntime's binary case: weights for one class id make one score s, the positive class's
        self.binary_case = classifier and n_out == 2 and len(out_ids) == 1
        k = 1 if self.binary_case else n_out
        self.leaf_value = np.zeros((n_nodes, k))
        col = np.zeros_like(ids) if self.binary_case else ids
        leaves = zip(at[f"{prefix}_treeids"], at[f"{prefix}_nodeids"], strict=True)
        rows = np.asarray([index[(int(t), int(n))] for t, n in leaves], dtype=np.int64)
        np.add.at(self.leaf_value, (rows, col), weights)
        base = np.asarray(at.get("base_values") or [0.0] * k, dtype=np.float32).astype(np.float64)
        if self.binary_case and len(base) == 2:
            base = base[1:]
        if len(base) != k:
            raise UnsupportedModelError(f"{len(base)} base values for {k} outputs")
        self.base = base
        if self.binary_case and self.post == "NONE":  # a forest's class-1 fraction s: [1 - s, s]
            self.leaf_value = np.column_stack([-self.leaf_value[:, 0], self.leaf_value[:, 0]])
            self.base = np.array([1.0 - base[0], base[0]])
            self.binary_case = False
        aggregate = str(at.get("aggregate_function", "SUM"))
        if aggregate not in ("SUM", "AVERAGE"):
            raise UnsupportedModelError(f"aggregate_function {aggregate} is not a sum of the trees")
        self.scale = 1.0 / len(self.roots) if aggregate == "AVERAGE" else 1.0
        self._spaces(classifier, k)
        self.params = {"objective": f"{node.op_type} post_transform={self.post}", "missing": float("nan")}

    def _spaces(self, classifier: bool, k: int) -> None:
        post = self.post
        self.identity_link = not classifier and post == "NONE"
        self.margin_model = classifier and (
            (post == "LOGISTIC" and self.binary_case) or (post == "SOFTMAX" and k > 2)
        )
        self.probability_model = classifier and post == "NONE" and not self.binary_case
        if not (self.identity_link or self.margin_model or self.probability_model):
            what = "binary case" if self.binary_case else f"{k} outputs"
            raise UnsupportedModelError(f"post_transform {post} with {what} is not read")

    # -- the trees as read, evaluated node by node --------------------------------------------------
    def scores(self, x: np.ndarray) -> FloatArray:
        """(n, K') base values plus the (scaled) sum of the leaves each row reaches, in float64."""
        z = np.asarray(x, dtype=np.float64)
        if self.float32:
            z = z.astype(np.float32).astype(np.float64)
        n = len(z)
        node = np.broadcast_to(self.roots, (n, len(self.roots))).copy()
        rows = np.arange(n)[:, None]
        while True:
            inner = self.mode[node] >= 0
            if not inner.any():
                break
            v = z[rows, self.feature[node]]
            t, m = self.threshold[node], self.mode[node]
            go = np.select([m == 0, m == 1, m == 2], [v <= t, v < t, v >= t], v > t)
            go = np.where(np.isnan(v), self.nan_true[node], go)
            node = np.where(inner, np.where(go, self.true_child[node], self.false_child[node]), node)
        return self.base + self.scale * self.leaf_value[node].sum(axis=1)

    def margin(self, x: np.ndarray) -> FloatArray:
        return self.scores(x)

    def proba(self, x: np.ndarray) -> FloatArray:
        s = self.scores(x)
        if self.probability_model:
            return s
        if self.binary_case:
            p = 1.0 / (1.0 + np.exp(-s[:, 0]))
            return np.column_stack([1.0 - p, p])
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return np.asarray(e / e.sum(axis=1, keepdims=True), dtype=np.float64)

    def value(self, x: np.ndarray) -> FloatArray:
        return self.scores(x)[:, 0]

    def native_space(self) -> str:
        if self.task == REGRESSOR:
            return spaces.RAW
        return spaces.PROBABILITY if self.probability_model else spaces.LOG_ODDS

    # -- the trees for the leaf-box walk (tree_sources) ---------------------------------------------
    def trees(self) -> list[tuple[int, Any, Any]]:
        """(root, split(node), leaf(node) -> (K',) values) per tree, in the walk's protocol."""

        def split(node: int) -> Any:
            m = int(self.mode[node])
            if m < 0:
                return None
            t = float(self.threshold[node])
            below = float(
                np.nextafter(np.float32(t), np.float32(-_INF)) if self.float32 else np.nextafter(t, -_INF)
            )
            cut = t if m in (0, 3) else below  # true side of LEQ is (-inf, t]; of LT (-inf, below]
            lower, upper = [(-_INF, cut)], [(cut, _INF)]
            true_side, false_side = (lower, upper) if m in (0, 1) else (upper, lower)
            nan_true = bool(self.nan_true[node])
            return int(self.feature[node]), [
                (int(self.true_child[node]), true_side, nan_true),
                (int(self.false_child[node]), false_side, not nan_true),
            ]

        return [(int(r), split, lambda node: self.scale * self.leaf_value[node]) for r in self.roots]

    def to_bytes(self) -> bytes:  # pragma: no cover - the artifact stores the graph itself
        raise NotImplementedError
