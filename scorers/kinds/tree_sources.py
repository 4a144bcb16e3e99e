"""Leaf boxes of LightGBM and XGBoost ensembles, for the tree scorer (``tree.compile_leaves``).

The tree scorer sees an ensemble as leaves, each a box ``lo < x <= hi`` per feature plus a rule for NaN,
and a value per output.  This module turns each library's trees into such boxes, exactly as the library
routes a row:

- **LightGBM** (``dump_model``): a row goes left when ``x <= threshold``, compared in float64 (LightGBM
  reads float64 inputs and keeps float64 thresholds), so the box bound is the threshold itself.
  Missing values follow the node's ``missing_type``: ``NaN``: NaN goes to the default side; ``None``:
  NaN is read as 0.0 and compared; ``Zero``: NaN and every x in [-1e-35f, 1e-35f] go to the default side.
  A side that is not one interval within the node's box (a ``Zero`` split whose threshold does not hold
  the zero band on its default side) is split into intervals and the subtree is repeated under each
  (disjoint boxes, so the leaf sum is unchanged).  Leaf values already hold the learning rate and, in the
  first trees, the initial score; a binary model's log-odds are ``sigmoid * raw``; ``average_output``
  (random forest mode) divides by the number of iterations; multiclass trees cycle through the classes.
- **XGBoost** (the JSON model): a row goes left when ``float32(x) < threshold`` (float32 threshold);
  with the scorer's float32 mode (inputs rounded to float32 first), that is ``x <= t'`` with ``t'`` the
  float32 just below the threshold, exact.  NaN goes to the node's default side.  Leaf values are float32
  and hold the learning rate; the base score (a probability for logistic objectives, turned into its
  margin) is the constant; DART trees are scaled by their ``weight_drop``; ``tree_info`` names the class
  of each tree (``num_parallel_tree`` trees of an iteration simply add).

Refused (the tree scorer then does not apply, and ``auto`` takes a black-box scorer, saying why):
categorical splits (both libraries), linear trees (LightGBM ``linear_tree``), vector leaves (XGBoost
``multi_strategy="multi_output_tree"``), the ``gblinear`` booster, an XGBoost wrapper whose ``missing``
is a number, and objectives whose prediction is not the sum of the trees (Poisson, Gamma, Tweedie,
``reg:logistic``, ``multiclassova``, ...) in the space asked for.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import spaces
from ..runtimes.base import CLASSIFIER
from ..runtimes.boosters import adapt, library_of
from ..runtimes.native_booster import NativeBooster
from ..runtimes.onnx_trees import OnnxTrees

__all__ = ["compile_leaves", "leaf_constant", "library_of", "native_spaces", "refusal"]

Interval = tuple[float, float]  # (a, b]: a < x <= b
_INF = float("inf")
_KZERO = float(np.float32(1e-35))  # LightGBM's kZeroThreshold, a float
_ZERO_BAND: Interval = (float(np.nextafter(-_KZERO, -_INF)), _KZERO)  # [-kZero, kZero] as (a, b]


class Refused(Exception):
    """The tree scorer cannot represent this model exactly; the message says why."""


# --------------------------------------------------------------------------------------------------
# what applies
# --------------------------------------------------------------------------------------------------
def _native(head: Any) -> NativeBooster:
    native = adapt(head)
    assert native is not None
    return native


def refusal(head: Any, task: str | None = None) -> str | None:
    """Why the tree scorer cannot explain this LightGBM / XGBoost model exactly (None: it can)."""
    native = _native(head)
    try:
        task = task or native.task
        if native.library == "onnx":  # read and checked by the ONNX runtime (runtimes/onnx_read.py)
            _compile(native, native.n_features)
            return None
        if task == CLASSIFIER and not native.margin_model:
            raise Refused(
                f"the probabilities of objective '{native.params['objective']}' are not a softmax or sigmoid "
                "of the trees' sum"
            )
        if task != CLASSIFIER and not native.identity_link:
            raise Refused(
                f"the prediction of objective '{native.params['objective']}' is not the sum of the trees"
            )
        _compile(native, native.n_features)
    except Refused as exc:
        return f"{native.library} {native.wrapper}: {exc}"
    return None


def native_spaces(head: Any, task: str) -> list[str]:
    """The tree scorer's spaces for this model: log-odds of a margin classifier, raw for a regressor."""
    if refusal(head, task) is not None:
        return []
    if isinstance(head, OnnxTrees):
        return [head.native_space()]
    return [spaces.LOG_ODDS] if task == CLASSIFIER else [spaces.RAW]


def compile_leaves(head: Any, n_features: int) -> tuple[dict[str, np.ndarray], bool] | None:
    """(leaf arrays, inputs compared in float32) of a LightGBM / XGBoost model, or None when refused."""
    try:
        return _compile(_native(head), n_features)
    except Refused:
        return None


def leaf_constant(head: Any) -> tuple[np.ndarray, float] | None:
    """(the model's constant per output, tolerance of leaves + constant against the model's own output).

    XGBoost adds its base margin and sums its trees in float32, so its output is within a few float32
    roundings of the exact sum: the tolerance bounds those roundings, ``2 (trees + 2) 2^-24`` times
    the largest partial sum.  None for LightGBM (its constant is inside the leaves and it sums in float64:
    the tree scorer's own check applies).
    """
    native = adapt(head)
    if isinstance(native, OnnxTrees):  # its base values; its sums were checked against onnxruntime
        largest = np.abs(native.base) + native.scale * np.abs(native.leaf_value).sum(axis=0)  # any output
        from ..runtimes.onnx_read import VERIFY_RTOL  # an ONNX model: the onnx package is there

        return native.base, VERIFY_RTOL * max(1.0, float(np.max(largest)))
    if native is None or native.library != "xgboost":
        return None
    trees, scales, k = _xgb_trees(native)
    base = np.broadcast_to(np.asarray(native.params["base_margin"], dtype=np.float64), (k,)).copy()
    bound = np.abs(base)
    info = _xgb_model(native)["tree_info"]
    for tree, scale, cls in zip(trees, scales, info, strict=True):
        leaves = np.asarray(tree["split_conditions"], dtype=np.float32)[np.asarray(tree["left_children"]) < 0]
        bound[int(cls) % k] += abs(scale) * float(np.max(np.abs(leaves.astype(np.float64))))
    n = len(trees) // k + 2
    return base, float(2 * n * 2.0**-24 * np.max(bound))  # 2: centring log-odds adds two margins


# --------------------------------------------------------------------------------------------------
# intervals and the walk
# --------------------------------------------------------------------------------------------------
def _minus(pieces: list[Interval], cut: Interval) -> list[Interval]:
    c, d = cut
    out = []
    for a, b in pieces:
        if a < min(b, c):
            out.append((a, min(b, c)))
        if max(a, d) < b:
            out.append((max(a, d), b))
    return out


def _merge(pieces: list[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for a, b in sorted(pieces):
        if out and out[-1][1] >= a:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class _Boxes:
    """Leaves as boxes: lo < x <= hi per feature, whether NaN is inside, and a value per output."""

    def __init__(self, n_features: int, n_outputs: int) -> None:
        self.d, self.k = n_features, n_outputs
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.nan: list[np.ndarray] = []
        self.value: list[np.ndarray] = []

    def walk(self, root: Any, split: Any, leaf: Any, out: int, scale: float) -> None:
        """Depth-first over one tree.  ``split(node)``: None for a leaf, else (feature, [(child, pieces,
        nan goes there)]); ``leaf(node)``: its value, added to output ``out`` times ``scale``."""
        stack = [(root, np.full(self.d, -_INF), np.full(self.d, _INF), np.ones(self.d, dtype=bool))]
        while stack:
            node, lo, hi, nan = stack.pop()
            s = split(node)
            if s is None:
                value = np.zeros(self.k)
                if out < 0:  # the leaf gives every output
                    value[:] = np.asarray(leaf(node), dtype=np.float64) * scale
                else:
                    value[out] = float(leaf(node)) * scale
                self.lo.append(lo)
                self.hi.append(hi)
                self.nan.append(nan)
                self.value.append(value)
                continue
            f, children = s
            if not 0 <= f < self.d:
                raise Refused(f"a split on feature {f}, but the data has {self.d} features")
            for child, pieces, nan_goes in reversed(children):
                inside = [(max(lo[f], a), min(hi[f], b)) for a, b in pieces]
                inside = [(a, b) for a, b in inside if a < b]
                carry = bool(nan[f] and nan_goes)
                if carry and not inside:
                    inside = [(hi[f], hi[f])]  # no number reaches the child, only NaN
                # a row reaches exactly one copy of a repeated subtree: NaN goes with the first only
                for i, (a, b) in enumerate(inside):
                    c_lo, c_hi, c_nan = lo.copy(), hi.copy(), nan.copy()
                    c_lo[f], c_hi[f], c_nan[f] = a, b, carry and i == 0
                    stack.append((child, c_lo, c_hi, c_nan))

    def arrays(self) -> dict[str, np.ndarray]:
        if not self.value:
            raise Refused("the model has no trees")
        return {
            "leaf_lo_": np.array(self.lo),
            "leaf_hi_": np.array(self.hi),
            "leaf_nan_": np.array(self.nan),
            "leaf_value_": np.array(self.value),
        }


def _compile(native: NativeBooster, n_features: int) -> tuple[dict[str, np.ndarray], bool]:
    """Parsed once per adapter (``auto`` asks several times); a refusal is remembered too."""
    cache: dict[int, Any] = native.__dict__.setdefault("_tree_leaves", {})
    if n_features not in cache:
        try:
            if isinstance(native, OnnxTrees):
                cache[n_features] = (_onnx(native, n_features), native.float32)
            elif native.library == "lightgbm":
                cache[n_features] = (_lightgbm(native, n_features), False)
            else:
                cache[n_features] = (_xgboost(native, n_features), True)
        except Refused as exc:
            cache[n_features] = exc
    out = cache[n_features]
    if isinstance(out, Refused):
        raise out
    return out  # type: ignore[no-any-return]


# --------------------------------------------------------------------------------------------------
# LightGBM
# --------------------------------------------------------------------------------------------------
def _lgb_sides(
    t: float, missing_type: str, default_left: bool
) -> tuple[list[Interval], bool, list[Interval]]:
    """(left pieces, NaN goes left, right pieces) of a LightGBM numerical split ``x <= t``."""
    left: list[Interval] = [(-_INF, t)]
    right: list[Interval] = [(t, _INF)]
    if missing_type == "Zero":  # the zero band (and NaN, read as 0) goes to the default side
        left, right = _minus(left, _ZERO_BAND), _minus(right, _ZERO_BAND)
        if default_left:
            left = _merge(left + [_ZERO_BAND])
        else:
            right = _merge(right + [_ZERO_BAND])
        return left, default_left, right
    if missing_type == "NaN":
        return left, default_left, right
    return left, t >= 0.0, right  # None: NaN is read as 0.0 (left when 0.0 <= t)


def _lightgbm(native: NativeBooster, n_features: int) -> dict[str, np.ndarray]:
    from ..runtimes.lightgbm import LightGBMModel

    assert isinstance(native, LightGBMModel)
    dump = native.dump
    k = int(dump.get("num_tree_per_iteration", 1))
    infos = dump["tree_info"]
    scale = float(native.params["margin_scale"])
    if dump.get("average_output"):
        scale /= max(1, len(infos) // k)
    boxes = _Boxes(n_features, k)

    def split(node: dict[str, Any]) -> Any:
        if "split_feature" not in node:
            if node.get("leaf_coeff") or node.get("leaf_features"):
                raise Refused("linear trees (linear_tree=True) have a linear model in each leaf")
            return None
        if node["decision_type"] != "<=":
            raise Refused("categorical splits are not supported")
        t = float(node["threshold"])
        left, nan_left, right = _lgb_sides(t, str(node["missing_type"]), bool(node["default_left"]))
        return int(node["split_feature"]), [
            (node["left_child"], left, nan_left),
            (node["right_child"], right, not nan_left),
        ]

    for i, info in enumerate(infos):
        if int(info.get("num_cat", 0)) > 0:
            raise Refused("categorical splits are not supported")
        boxes.walk(info["tree_structure"], split, lambda n: n["leaf_value"], i % k, scale)
    return boxes.arrays()


# --------------------------------------------------------------------------------------------------
# XGBoost
# --------------------------------------------------------------------------------------------------
def _xgb_json(native: NativeBooster) -> dict[str, Any]:
    from ..runtimes.xgboost import XGBoostModel

    assert isinstance(native, XGBoostModel)
    return dict(native.model_json)


def _xgb_model(native: NativeBooster) -> dict[str, Any]:
    booster = _xgb_json(native)["learner"]["gradient_booster"]
    if booster["name"] == "gblinear":
        raise Refused("the gblinear booster is a linear model, not trees")
    model: dict[str, Any] = booster["gbtree"]["model"] if booster["name"] == "dart" else booster["model"]
    return model


def _xgb_trees(native: NativeBooster) -> tuple[list[dict[str, Any]], list[float], int]:
    """(trees, scale of each tree, outputs)."""
    model = _xgb_model(native)
    trees = model["trees"]
    learner = _xgb_json(native)["learner"]
    booster = learner["gradient_booster"]
    weights = booster.get("weight_drop") if booster["name"] == "dart" else None
    scales = [float(np.float32(w)) for w in weights] if weights else [1.0] * len(trees)
    k = max(1, int(learner["learner_model_param"].get("num_class", "0")))
    return trees, scales, k


def _xgb_split(
    left: np.ndarray, right: np.ndarray, feature: np.ndarray, below: np.ndarray, default_left: np.ndarray
) -> Any:
    def split(node: int) -> Any:
        if left[node] < 0:
            return None
        b, dl = float(below[node]), bool(default_left[node])
        return int(feature[node]), [
            (int(left[node]), [(-_INF, b)], dl),
            (int(right[node]), [(b, _INF)], not dl),
        ]

    return split


def _xgboost(native: NativeBooster, n_features: int) -> dict[str, np.ndarray]:
    if not np.isnan(native.params["missing"]):
        raise Refused(f"missing={native.params['missing']!r} makes a number behave as missing")
    trees, scales, k = _xgb_trees(native)
    info = _xgb_model(native)["tree_info"]
    boxes = _Boxes(n_features, k)
    for tree, scale, cls in zip(trees, scales, info, strict=True):
        if int(tree["tree_param"].get("size_leaf_vector", "1")) > 1:
            raise Refused("vector leaves (multi_strategy='multi_output_tree') are not supported")
        if any(int(t) != 0 for t in tree.get("split_type", [])) or tree.get("categories_nodes"):
            raise Refused("categorical splits are not supported")
        cond = np.asarray(tree["split_conditions"], dtype=np.float32)
        # left iff float32(x) < t, i.e. float32(x) <= the float32 just below t
        below = np.nextafter(cond, np.float32(-np.inf)).astype(np.float64)

        split = _xgb_split(
            np.asarray(tree["left_children"], dtype=np.int64),
            np.asarray(tree["right_children"], dtype=np.int64),
            np.asarray(tree["split_indices"], dtype=np.int64),
            below,
            np.asarray(tree["default_left"], dtype=bool),
        )
        boxes.walk(0, split, lambda n, cond=cond: float(cond[n]), int(cls) % k, scale)
    return boxes.arrays()


# --------------------------------------------------------------------------------------------------
# ONNX-ML tree ensembles (runtimes/onnx_trees.py reads the graph; comparisons as onnxruntime makes them)
# --------------------------------------------------------------------------------------------------
def _onnx(trees: OnnxTrees, n_features: int) -> dict[str, np.ndarray]:
    boxes = _Boxes(n_features, trees.leaf_value.shape[1])
    for root, split, leaf in trees.trees():
        boxes.walk(root, split, leaf, -1, 1.0)
    return boxes.arrays()
