"""Exact interventional TreeSHAP for scikit-learn tree ensembles, vectorised over leaves and background.

A tree ensemble's output is a sum over all its leaves of ``value_l * [row reaches l]``.  A row reaches
leaf ``l`` iff, for every feature, it lies in the leaf's box (an interval per feature, plus a rule for
NaN).  For an explained row ``x`` and a background row ``b``, the hybrid ``(x_S, b_notS)`` reaches ``l``
iff every feature ``f`` with ``x`` in the box but not ``b`` (set P) is in S, every feature with ``b`` in
the box but not ``x`` (set N) is not in S, and no feature has both outside.  The Shapley values of that
AND game are, for j in P, ``value_l (p-1)! q! / (p+q)!`` and, for j in N, ``-value_l p! (q-1)! / (p+q)!``
(p=|P|, q=|N|).  Summing over leaves and weighted background rows gives exact interventional SHAP.

Raw features with several engineered columns (one-hot groups) are players as a whole: a row is inside a
leaf on a group when it is inside on every column of the group.

Per leaf, the explained row matters only through its inside/outside pattern over the leaf's Q path
players (Q <= depth), so for shallow ensembles we tabulate, once at fit/load time and per player set,
``T[leaf, slot, pattern] = sum_b w_b * share`` for all 2^Q patterns (background rows collapse to their
own patterns first).  Explaining is then a gather and a ``bincount`` per output, with no loop over rows
or background, instead of leaves x background x Q work per row; ``bincount`` adds in input order, so a
row's values are bit-identical alone or in any batch.  The table is not stored in the artifact (it
derives from the leaves and the background, deterministically).  Deep trees (Q > 12, or a table over
2**23 entries) keep the per-background algorithm: leaves x background rows x Q per row, in numpy.

We compute this ourselves rather than through shap's interventional TreeExplainer because, measured
with shap 0.51, the latter's values miss additivity by 1e-6..1e-5 on shallow regression trees and by up
to 4.0 on a deep RandomForestRegressor (diabetes data): not exact enough for the 1e-6 contract.
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np

from .. import spaces
from ..masking import GROUPED, IDENTITY, Masking
from ..runtimes.base import CLASSIFIER
from . import tree_combos, tree_sources
from .base import FitContext, FloatArray, Scorer, register

_PROBABILITY_TREES = ("DecisionTreeClassifier", "RandomForestClassifier", "ExtraTreesClassifier")
_MARGIN_TREES = ("GradientBoostingClassifier", "HistGradientBoostingClassifier")
_REGRESSION_TREES = (
    "DecisionTreeRegressor",
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "GradientBoostingRegressor",
    "HistGradientBoostingRegressor",
)


class _Leaves:
    """Boxes and values of every leaf of an ensemble: lo < x <= hi per feature, NaN rule, (K,) value."""

    def __init__(self, n_features: int) -> None:
        self.d = n_features
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.nan_ok: list[np.ndarray] = []
        self.value: list[np.ndarray] = []

    def add_tree(
        self,
        left: np.ndarray,
        right: np.ndarray,
        feature: np.ndarray,
        threshold: np.ndarray,
        missing_left: np.ndarray,
        leaf_value: Any,
        scale: float,
    ) -> None:
        stack = [(0, np.full(self.d, -np.inf), np.full(self.d, np.inf), np.ones(self.d, dtype=bool))]
        while stack:
            node, lo, hi, nan_ok = stack.pop()
            if left[node] < 0:
                self.lo.append(lo)
                self.hi.append(hi)
                self.nan_ok.append(nan_ok)
                self.value.append(np.atleast_1d(np.asarray(leaf_value(node), dtype=np.float64)) * scale)
                continue
            f, t = int(feature[node]), float(threshold[node])
            l_hi, l_nan = hi.copy(), nan_ok.copy()
            l_hi[f] = min(hi[f], t)
            l_nan[f] = nan_ok[f] and bool(missing_left[node])
            r_lo, r_nan = lo.copy(), nan_ok.copy()
            r_lo[f] = max(lo[f], t)
            r_nan[f] = nan_ok[f] and not bool(missing_left[node])
            stack.append((int(left[node]), lo, l_hi, l_nan))
            stack.append((int(right[node]), r_lo, hi, r_nan))

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "leaf_lo_": np.array(self.lo),
            "leaf_hi_": np.array(self.hi),
            "leaf_nan_": np.array(self.nan_ok),
            "leaf_value_": np.array(self.value),
        }


def _sk_tree(leaves: _Leaves, tree: Any, scale: float, proba: bool) -> None:
    t = tree.tree_
    missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))

    def value(node: int) -> np.ndarray:
        v = t.value[node, :, :] if proba else t.value[node, 0, :]
        if proba:  # class fractions of the leaf, as predict_proba gives them
            v = v[0] / v[0].sum()
        return v

    leaves.add_tree(t.children_left, t.children_right, t.feature, t.threshold, missing, value, scale)


def _hgb_tree(leaves: _Leaves, predictor: Any) -> None:
    nodes = predictor.nodes
    if np.any(nodes["is_categorical"]):
        raise TypeError("categorical splits are not supported")
    left = np.where(nodes["is_leaf"], -1, nodes["left"].astype(np.int64))
    leaves.add_tree(
        left,
        nodes["right"].astype(np.int64),
        nodes["feature_idx"],
        nodes["num_threshold"],
        nodes["missing_go_to_left"],
        lambda node: nodes["value"][node],
        1.0,
    )


def compile_leaves(model: Any, n_features: int) -> tuple[dict[str, np.ndarray], bool] | None:
    """(leaf arrays, whether features are compared in float32 as sklearn's trees do) or None."""
    kind = type(model).__name__
    if tree_sources.library_of(model):  # LightGBM and XGBoost boosters and wrappers
        return tree_sources.compile_leaves(model, n_features)
    leaves = _Leaves(n_features)
    try:
        if kind.startswith("DecisionTree"):
            _sk_tree(leaves, model, 1.0, kind.endswith("Classifier"))
            f32 = True
        elif kind.startswith(("RandomForest", "ExtraTrees")):
            for est in model.estimators_:
                _sk_tree(leaves, est, 1.0 / len(model.estimators_), kind.endswith("Classifier"))
            f32 = True
        elif kind.startswith("GradientBoosting"):
            if not isinstance(model.init_, str) and type(model.init_).__name__ not in (
                "DummyRegressor",
                "DummyClassifier",
            ):
                return None  # a non-constant initial model is not a tree
            n_out = model.estimators_.shape[1]
            for stage in model.estimators_:
                for k, est in enumerate(stage):
                    t = est.tree_

                    def value(node: int, t: Any = t, k: int = k) -> np.ndarray:
                        out = np.zeros(n_out)
                        out[k] = t.value[node, 0, 0]
                        return out

                    missing = getattr(t, "missing_go_to_left", np.zeros(t.node_count, dtype=np.uint8))
                    leaves.add_tree(
                        t.children_left,
                        t.children_right,
                        t.feature,
                        t.threshold,
                        missing,
                        value,
                        model.learning_rate,
                    )
            f32 = True
        elif kind.startswith("HistGradientBoosting"):
            n_out = len(model._predictors[0])
            for stage in model._predictors:
                for k, pred in enumerate(stage):
                    start = len(leaves.value)
                    _hgb_tree(leaves, pred)
                    for i in range(start, len(leaves.value)):
                        out = np.zeros(n_out)
                        out[k] = leaves.value[i][0]
                        leaves.value[i] = out
            f32 = False
        else:
            return None
    except (AttributeError, TypeError, IndexError):
        return None
    return leaves.arrays(), f32


def _coefficients(d: int) -> tuple[np.ndarray, np.ndarray]:
    """cp[p, q] = (p-1)! q! / (p+q)! and cn[p, q] = p! (q-1)! / (p+q)!, zero where undefined."""
    cp = np.zeros((d + 1, d + 1))
    cn = np.zeros((d + 1, d + 1))
    for p in range(d + 1):
        for q in range(d + 1 - p):
            if p >= 1:
                cp[p, q] = math.factorial(p - 1) * math.factorial(q) / math.factorial(p + q)
            if q >= 1:
                cn[p, q] = math.factorial(p) * math.factorial(q - 1) / math.factorial(p + q)
    return cp, cn


# The pattern table is used when every leaf has at most _TABLE_MAX_SLOTS player slots and the table
# (leaves x 2^Q x Q float64) has at most _TABLE_MAX_ENTRIES entries (2**23 entries = 64 MiB);
# otherwise (deep forests) the per-background algorithm runs.
# leaf sums + the model's constant must match the model's own output this closely (relative to it)
LEAF_OUTPUT_TOL = 1e-11
_TABLE_MAX_SLOTS = 12
_TABLE_MAX_ENTRIES = 2**23
_BUILD_CHUNK = 2**20  # table entries built per step: bounds the temporaries of the build
_EXPLAIN_CHUNK = 2**16  # (slot, row) pairs per step at explain time: keeps the temporaries in cache


# the default background: every training row up to this many, a uniform sample of this many beyond
FULL_DATA_ROWS = 100_000


def _table_fits(arrays: dict[str, np.ndarray]) -> bool:
    """Whether the pattern table of these leaves is built (counting path columns: a bound on players)."""
    lo, hi, nan = arrays["leaf_lo_"], arrays["leaf_hi_"], arrays["leaf_nan_"].astype(bool)
    q_max = max(1, int(((lo > -np.inf) | (hi < np.inf) | ~nan).sum(axis=1).max(initial=0)))
    return q_max <= _TABLE_MAX_SLOTS and lo.shape[0] * (1 << q_max) * q_max <= _TABLE_MAX_ENTRIES


class _Table(NamedTuple):
    """T[l, q, pattern] = sum_b w_b (Shapley share of slot q), leaf value left out, flattened; and, for
    each real (not padding) slot in (leaf, slot) order, its leaf, offset of T[leaf, q, 0], player, value."""

    flat: np.ndarray  # (L * Q * 2^Q,)
    leaf: np.ndarray  # (S,)
    start: np.ndarray  # (S,)
    player: np.ndarray  # (S,)
    value: np.ndarray  # (S, K)


@register
class TreeScorer(Scorer):
    name = "tree"
    exact = True
    summary = (
        "interventional TreeSHAP over leaf boxes for scikit-learn, LightGBM and XGBoost tree ensembles, exact; "
        "background: every training row up to 100,000 where its pattern table applies"
    )
    auto_rank = 20
    splits_background = True
    _state_keys = ("leaf_lo_", "leaf_hi_", "leaf_nan_", "leaf_value_", "float32_")
    leaf_lo_: np.ndarray
    leaf_hi_: np.ndarray
    leaf_nan_: np.ndarray
    leaf_value_: np.ndarray

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        if head is None or mode not in (IDENTITY, GROUPED):
            return []
        kind = type(head).__name__
        if tree_sources.library_of(head):
            avail = tree_sources.native_spaces(head, task)
        elif kind in _PROBABILITY_TREES:
            avail = [spaces.PROBABILITY]
        elif kind in _MARGIN_TREES:
            avail = [spaces.LOG_ODDS]
        elif kind in _REGRESSION_TREES and task != CLASSIFIER:
            avail = [spaces.RAW]
        else:
            return []
        if compile_leaves(head, len(masking.column_group)) is None:
            return []
        return avail

    @classmethod
    def why_not(cls, head: Any, mode: str, masking: Masking, options: Any) -> str:
        reason = tree_sources.refusal(head) if tree_sources.library_of(head) else None
        return (
            f"the tree scorer does not apply: {reason}"
            if reason
            else super().why_not(head, mode, masking, options)
        )

    @classmethod
    def refusal(cls, head: Any, task: str) -> str | None:
        """Why a tree model this scorer knows cannot be explained exactly (categorical splits, ...)."""
        return tree_sources.refusal(head, task) if tree_sources.library_of(head) else None

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        """Every training row (up to FULL_DATA_ROWS, a uniform sample beyond) when the pattern table
        applies: explaining then costs the same whatever the background, so the served values are the
        full-data values; else (deep forests, explained per background row) a sample of 100 rows."""
        compiled = compile_leaves(head, n_columns) if head is not None and n_columns else None
        if compiled is not None and _table_fits(compiled[0]):
            return FULL_DATA_ROWS, "sample"
        return 100, "sample"

    @classmethod
    def calibrates(cls, rows: int) -> bool:
        return rows < FULL_DATA_ROWS  # a sample this large is closer to the full data than any calibration

    def _fit(self, ctx: FitContext) -> None:
        compiled = compile_leaves(ctx.head, len(ctx.masking.column_group))
        assert compiled is not None
        arrays, f32 = compiled
        for k, v in arrays.items():
            setattr(self, k, v)
        self.float32_ = np.array(f32)
        self._restore(ctx)

    def _restore(self, ctx: FitContext) -> None:
        # Only the features on a leaf's path can put a row outside it, so each leaf keeps "slots" for
        # its path features (depth-many, not all d): a table over 2^depth patterns, or per-row work of
        # leaves x background x depth on the per-background path.
        # (lo = +inf is a bound too: sklearn's "non-missing left, missing right" split has threshold inf)
        on_path = (self.leaf_lo_ > -np.inf) | (self.leaf_hi_ < np.inf) | ~self.leaf_nan_.astype(bool)
        self.slots_ = {
            False: self._slots(on_path, np.arange(on_path.shape[1])),
            True: self._slots(on_path, ctx.masking.column_group),
        }
        self.cp_, self.cn_ = _coefficients(max(s[0].shape[1] for s in self.slots_.values()))
        # the column slots (a leaf's path columns) do not depend on how columns are grouped into players
        _, col_slot, _ = self.slots_[False]
        assert np.array_equal(col_slot, self.slots_[True][1])
        leaf = np.arange(col_slot.shape[0])[:, None]
        c = np.where(col_slot >= 0, col_slot, 0)
        self.box_ = (
            c,
            self.leaf_lo_[leaf, c][..., None],
            self.leaf_hi_[leaf, c][..., None],
            self.leaf_nan_[leaf, c].astype(bool)[..., None],
            (col_slot < 0)[..., None],
        )
        self.one_column_slots_: dict[bool, bool] = {}
        self.col_bits_: dict[bool, np.ndarray] = {}
        for key, (player_slot, _, col_to_q) in self.slots_.items():
            q_max = player_slot.shape[1]
            self.one_column_slots_[key] = col_slot.shape[1] == q_max and bool(
                np.array_equal(col_to_q, np.where(col_slot >= 0, np.arange(q_max), -1))
            )
            if q_max <= _TABLE_MAX_SLOTS:  # bit of each column's player slot, 0 for padding
                self.col_bits_[key] = np.where(col_to_q >= 0, 1 << np.maximum(col_to_q, 0), 0).astype(
                    np.int16
                )
        self.bg_inside_: dict[bool, np.ndarray] = {}  # per-background path, built when first needed
        self.tables_: dict[bool, _Table | None] = {}
        self.combos_: dict[bool, tree_combos.Combos | None] = {}
        self._table(True)  # raw-feature explanations are the common request: build their table now
        self.leaf_offset_ = self._leaf_output_offset(ctx)

    @property
    def base_values(self) -> FloatArray:
        base = getattr(self, "leaf_base_", None)
        return self._check_fitted().game.base if base is None else base

    def _leaf_outputs(self, pattern: np.ndarray, by_group: bool) -> FloatArray:
        """(L, n) patterns -> (n, K) model output: the sum of the values of the leaves each row reaches.

        Rows reach a leaf when every slot is inside; np.nonzero lists (leaf, row) by leaf, and bincount
        adds in that order, so a row's output does not depend on its batch.
        """
        full = (1 << self.slots_[by_group][0].shape[1]) - 1
        leaf, row = np.nonzero(pattern == full)
        n = pattern.shape[1]
        out = np.stack(
            [
                np.bincount(row, weights=self.leaf_value_[leaf, k], minlength=n)
                for k in range(self.leaf_value_.shape[1])
            ],
            axis=1,
        )
        return self._to_space(np.asarray(out, dtype=np.float64))

    def _to_space(self, per_output: FloatArray) -> FloatArray:
        """Leaf sums (n, K) or their Shapley values (n, K, M) to the explained space, along axis 1:
        [-m, m] for one margin, centred logits for log-odds."""
        ctx = self._check_fitted()
        if ctx.task == CLASSIFIER and self.leaf_value_.shape[1] == 1:
            return np.concatenate([-per_output, per_output], axis=1)
        if ctx.space == spaces.LOG_ODDS:
            return per_output - per_output.mean(axis=1, keepdims=True)
        return per_output

    def _leaf_output_offset(self, ctx: FitContext) -> FloatArray | None:
        """The model's own constant (a boosting init) when leaf sums reproduce it on the background.

        Then a row's output comes from the leaves it reaches, found anyway while explaining, instead of
        a second pass through scikit-learn (most of a one-row call).  Checked at fit and at load: the
        leaves plus the constant must match the model on every background row to 1e-11, else the model
        is called as before.
        """
        self.leaf_base_: FloatArray | None = None
        table = self.tables_.get(True)
        if table is None:
            return None
        bg = np.asarray(ctx.game.background, dtype=np.float64)
        model = ctx.game.fn(bg)
        step = max(1, _BUILD_CHUNK // max(1, self.leaf_lo_.shape[0] * self.slots_[True][1].shape[1]))
        leaves = np.concatenate(
            [
                self._leaf_outputs(self._patterns(bg[lo : lo + step], True), True)
                for lo in range(0, len(bg), step)
            ]
        )
        diff = model - leaves
        offset = diff[0].copy()
        tol = LEAF_OUTPUT_TOL * max(1.0, float(np.max(np.abs(model))))
        known = tree_sources.leaf_constant(ctx.head)
        if known is not None:  # XGBoost sums in float32: its constant is parsed, its sums are rounded
            offset, tol = self._to_space(known[0][None, :])[0], known[1]
        if np.max(np.abs(diff - offset)) > tol:
            return None
        if known is not None:  # then the base value, like the outputs, is the exact sum of the leaves
            self.leaf_base_ = ctx.game.weights @ (leaves + offset)
        return offset

    @staticmethod
    def _slots(
        on_path: np.ndarray, player_of_column: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(player per slot (L, Q), column per column-slot (L, P), slot of each column-slot (L, P)); -1 pads."""
        n_leaves = on_path.shape[0]
        cols = [np.flatnonzero(row) for row in on_path]
        players = [np.unique(player_of_column[c]) for c in cols]
        p_max = max(1, max(len(c) for c in cols))
        q_max = max(1, max(len(p) for p in players))
        col_slot = np.full((n_leaves, p_max), -1)
        col_to_q = np.full((n_leaves, p_max), -1)
        player_slot = np.full((n_leaves, q_max), -1)
        for leaf, (c, pl) in enumerate(zip(cols, players, strict=True)):
            col_slot[leaf, : len(c)] = c
            player_slot[leaf, : len(pl)] = pl
            col_to_q[leaf, : len(c)] = np.searchsorted(pl, player_of_column[c])
        return player_slot, col_slot, col_to_q

    def _column_inside(self, z: np.ndarray) -> np.ndarray:
        """(n, d) rows -> (L, P, n): is the row inside each leaf on each of its path columns?"""
        z = np.asarray(z, dtype=np.float64)
        if bool(self.float32_):  # sklearn's trees compare float32 features with float64 thresholds
            z = z.astype(np.float32).astype(np.float64)
        c, lo, hi, nan_ok, pad = self.box_
        v = z.T[c]  # (L, P, n)
        inside = (v > lo) & (v <= hi)  # False for NaN
        if np.isnan(z).any():
            inside = np.where(np.isnan(v), nan_ok, inside)
        inside |= pad  # padding slots never exclude
        return inside

    def _inside(self, z: np.ndarray, by_group: bool) -> np.ndarray:
        """(n, d) rows -> (L, n, Q): is the row inside each leaf on each of its path players?"""
        inside = np.transpose(self._column_inside(z), (0, 2, 1))  # (L, n, P)
        if self.one_column_slots_[by_group]:
            return inside  # one column per player slot
        player_slot, _, col_to_q = self.slots_[by_group]
        q_max = player_slot.shape[1]
        out = np.ones(inside.shape[:2] + (q_max,), dtype=bool)
        for q in range(q_max):  # a player is inside when all its path columns are
            out[:, :, q] = np.all(np.where((col_to_q == q)[:, None, :], inside, True), axis=2)
        return out

    def _patterns(self, z: np.ndarray, by_group: bool) -> np.ndarray:
        """(n, d) rows -> (L, n) ints: bit q set iff the row is inside the leaf on player slot q."""
        outside = ~self._column_inside(z) * self.col_bits_[by_group][..., None]  # (L, P, n)
        q_max = self.slots_[by_group][0].shape[1]
        return np.int16((1 << q_max) - 1) ^ np.bitwise_or.reduce(outside, axis=1)  # padding slots stay set

    def _table(self, by_group: bool) -> _Table | None:
        """The pattern table of these players (None: too large), built once and cached."""
        if by_group not in self.tables_:
            other = not by_group
            mine, theirs = self.slots_[by_group], self.slots_[other]
            same = all(np.array_equal(a, b) for a, b in zip(mine, theirs, strict=True))
            if other in self.tables_ and same:  # singleton players: engineered and raw tables coincide
                self.tables_[by_group] = self.tables_[other]
            else:
                self.tables_[by_group] = self._build_table(by_group)
        return self.tables_[by_group]

    def _combos(self, by_group: bool) -> tree_combos.Combos | None:
        """The group tables (tree_combos) of these players, built from the pattern table once."""
        if by_group not in self.combos_:
            table = self._table(by_group)
            ctx = self._check_fitted()
            n_players = ctx.masking.n_players if by_group else self.leaf_lo_.shape[1]
            q_max = self.slots_[by_group][0].shape[1]
            boxes = tree_combos.Boxes(
                self.leaf_lo_,
                self.leaf_hi_,
                self.leaf_nan_.astype(bool),
                self.slots_[by_group][1],
                self.col_bits_[by_group] if table is not None else np.zeros(0),
                (1 << q_max) - 1,
            )
            self.combos_[by_group] = (
                None
                if table is None
                else tree_combos.build(
                    boxes, table.flat, table.leaf, table.start, table.player, self.leaf_value_, n_players
                )
            )
        return self.combos_[by_group]

    def _combo_phi(
        self, x: np.ndarray, combos: tree_combos.Combos, n_players: int, outputs: FloatArray | None
    ) -> FloatArray:
        """Shapley values (n, K, M) from the group tables; fills ``outputs`` like ``_table_phi``."""
        z = np.asarray(x, dtype=np.float64)
        if bool(self.float32_):  # compared as the leaves compare (see _column_inside)
            z = z.astype(np.float32).astype(np.float64)
        n, k_out = z.shape[0], self.leaf_value_.shape[1]
        phi = np.empty((n, k_out, n_players))
        step = max(1, 16 * _EXPLAIN_CHUNK // (len(combos.seg) * combos.rows.shape[1]))
        for lo in range(0, n, step):
            got = tree_combos.lookup(combos, z[lo : lo + step])
            phi[lo : lo + step] = got[:, : k_out * n_players].reshape(-1, k_out, n_players)
            if outputs is not None:
                outputs[lo : lo + step] = self._to_space(got[:, k_out * n_players :])
        return phi

    def _build_table(self, by_group: bool) -> _Table | None:
        player_slot = self.slots_[by_group][0]
        n_leaves, q_max = player_slot.shape
        n_pat = 1 << q_max
        if q_max > _TABLE_MAX_SLOTS or n_leaves * n_pat * q_max > _TABLE_MAX_ENTRIES:
            return None
        full = n_pat - 1
        pats = np.arange(n_pat)
        inside = ((pats[:, None] >> np.arange(q_max)) & 1).astype(bool)  # (2^Q, Q): slot q inside
        n_out = q_max - inside.sum(axis=1)  # (2^Q,): slots outside
        b_d, w_d = self.background_patterns(by_group)
        n_distinct = b_d.shape[1]
        out_b = ~inside[b_d][..., None]  # (L, D, Q, 1): slot q outside for the background pattern
        p_b = n_out[b_d]  # (L, D): |P| when alive
        cp_n, cn_n = self.cp_[:, n_out], self.cn_[:, n_out]  # (Q+1, 2^Q): by |P|, for each x pattern
        table = np.empty((n_leaves, q_max, n_pat))
        step = max(1, _BUILD_CHUNK // (n_pat * q_max))
        for lo in range(0, n_leaves, step):
            hi = min(lo + step, n_leaves)
            plus = np.zeros((hi - lo, q_max, n_pat))
            minus = np.zeros((hi - lo, n_pat))
            for d in range(n_distinct):  # a fixed order: the table does not depend on anything else
                # Alive iff no slot is outside for both; then P = slots outside for b and N = slots
                # outside for x, so |P| depends on b only and |N| on x only.
                wa = ((pats | b_d[lo:hi, d, None]) == full) * w_d[lo:hi, d, None]  # (l, 2^Q)
                np.add(plus, (wa * cp_n[p_b[lo:hi, d]])[:, None, :], out=plus, where=out_b[lo:hi, d])
                minus += wa * cn_n[p_b[lo:hi, d]]
            table[lo:hi] = plus - ~inside.T * minus[:, None, :]
        valid = player_slot >= 0
        leaf, slot = np.nonzero(valid)  # (leaf, slot) order, as player_slot[valid]
        return _Table(
            flat=table.ravel(),
            leaf=leaf,
            start=(leaf * q_max + slot) * n_pat,
            player=player_slot[valid],
            value=self.leaf_value_[leaf],
        )

    def background_patterns(self, by_group: bool) -> tuple[np.ndarray, np.ndarray]:
        """Per leaf, the background's distinct patterns and their summed weights: (L, D) each, padded
        with the full pattern at weight 0 (also read by scorers.interactions.tree)."""
        ctx = self._check_fitted()
        n_leaves, q_max = self.slots_[by_group][0].shape
        n_pat = 1 << q_max
        # (in chunks of background rows: at 100,000 rows the patterns alone would take gigabytes)
        bg, w_bg = np.asarray(ctx.game.background, dtype=np.float64), ctx.game.weights
        hist = np.zeros(n_leaves * n_pat)
        step = max(1, _BUILD_CHUNK // max(1, n_leaves * q_max))
        for lo in range(0, len(bg), step):
            b_pat = self._patterns(bg[lo : lo + step], by_group)  # (L, nb')
            key = (np.arange(n_leaves)[:, None] * n_pat + b_pat).ravel()
            hist += np.bincount(key, weights=np.tile(w_bg[lo : lo + step], n_leaves), minlength=hist.size)
        uniq = np.flatnonzero(hist)
        leaf_of = uniq // n_pat
        rank = np.arange(len(uniq)) - np.searchsorted(uniq, leaf_of * n_pat)
        n_distinct = int(rank.max()) + 1
        b_d = np.full((n_leaves, n_distinct), n_pat - 1)  # padding: weight 0
        w_d = np.zeros((n_leaves, n_distinct))
        b_d[leaf_of, rank] = uniq % n_pat
        w_d[leaf_of, rank] = hist[uniq]
        return b_d, w_d

    def _table_phi(
        self, x: np.ndarray, by_group: bool, table: _Table, n_players: int, outputs: FloatArray | None = None
    ) -> FloatArray:
        """Shapley values from the table; fills ``outputs`` (n, K in the space) from the leaves reached."""
        n = x.shape[0]
        k_out = table.value.shape[1]
        phi = np.empty((n, k_out, n_players))
        step = max(1, _EXPLAIN_CHUNK // max(1, len(table.leaf)))
        for lo in range(0, n, step):
            xs = x[lo : lo + step]
            m = xs.shape[0]
            pattern = self._patterns(xs, by_group)  # (L, m)
            if outputs is not None:
                outputs[lo : lo + m] = self._leaf_outputs(pattern, by_group)
            share = table.flat[table.start[:, None] + pattern[table.leaf]]  # (S, m)
            # bincount adds in input order: each (row, player) sums its slots in (leaf, slot) order,
            # whatever the batch, so a row's values do not depend on the rows explained with it
            bins = (table.player[:, None] + np.arange(m) * n_players).ravel()
            for k in range(k_out):
                contrib = (share * table.value[:, k, None]).ravel()
                phi[lo : lo + m, k] = np.bincount(bins, weights=contrib, minlength=m * n_players).reshape(
                    m, n_players
                )
        return phi

    def _background_phi(self, x: np.ndarray, by_group: bool, n_players: int) -> FloatArray:
        ctx = self._check_fitted()
        w = ctx.game.weights
        if by_group not in self.bg_inside_:
            self.bg_inside_[by_group] = self._inside(
                np.asarray(ctx.game.background, dtype=np.float64), by_group
            )
        b_in = self.bg_inside_[by_group]  # (L, nb, Q)
        x_in = self._inside(x, by_group)  # (L, n, Q)
        player_slot = self.slots_[by_group][0]
        valid = player_slot >= 0
        n = x.shape[0]
        k_out = self.leaf_value_.shape[1]
        phi = np.empty((n, k_out, n_players))
        for r in range(n):
            xr = x_in[:, r, None, :]  # (L, 1, Q)
            pos = xr & ~b_in
            neg = ~xr & b_in
            alive = ~np.any(~xr & ~b_in, axis=2)  # (L, nb)
            p = pos.sum(axis=2)
            q = neg.sum(axis=2)
            wa = alive * w[None, :]
            a = wa * self.cp_[p, q]
            c = wa * self.cn_[p, q]
            per_slot = np.einsum("lb,lbq->lq", a, pos) - np.einsum("lb,lbq->lq", c, neg)  # (L, Q)
            for k in range(k_out):
                contrib = (self.leaf_value_[:, k, None] * per_slot)[valid]
                phi[r, k] = np.bincount(player_slot[valid], weights=contrib, minlength=n_players)
        return phi

    def background_split(self, x: np.ndarray) -> FloatArray:
        """Per background row, unweighted (the per-background algorithm without the sum over rows)."""
        ctx = self._check_fitted()
        n_players = ctx.masking.n_players
        bg = np.asarray(ctx.game.background, dtype=np.float64)
        x_in = self._inside(x[:1], True)[:, 0, None, :]  # (L, 1, Q)
        player_slot = self.slots_[True][0]
        valid = player_slot >= 0
        n_leaves, q_max = player_slot.shape
        k_out = self.leaf_value_.shape[1]
        step = max(1, _BUILD_CHUNK // max(1, n_leaves * q_max))
        out = np.empty((len(bg), k_out, n_players))
        for lo in range(0, len(bg), step):
            b_in = self._inside(bg[lo : lo + step], True)  # (L, nb', Q)
            nb = b_in.shape[1]
            pos, neg = x_in & ~b_in, ~x_in & b_in
            alive = ~np.any(~x_in & ~b_in, axis=2)  # (L, nb')
            p, q = pos.sum(axis=2), neg.sum(axis=2)
            per_slot = (alive * self.cp_[p, q])[..., None] * pos - (alive * self.cn_[p, q])[..., None] * neg
            bins = np.arange(nb)[None, :, None] * n_players + player_slot[:, None, :]  # (L, nb', Q)
            keep = np.broadcast_to(valid[:, None, :], per_slot.shape)
            for k in range(k_out):
                contrib = (self.leaf_value_[:, k, None, None] * per_slot)[keep]
                out[lo : lo + nb, k] = np.bincount(
                    bins[keep], weights=contrib, minlength=nb * n_players
                ).reshape(nb, n_players)
        return self._to_space(out)

    @property
    def uses_tables(self) -> bool:
        """Explaining reads the pattern tables: its cost does not grow with the background."""
        return self._table(True) is not None

    def _values(
        self, x: np.ndarray, by_group: bool, use_table: bool = True, use_groups: bool = True
    ) -> tuple[FloatArray, FloatArray]:
        """``use_table=False`` forces the per-background algorithm, ``use_groups=False`` the per-leaf
        lookup of the pattern table instead of the group tables (the tests compare the three)."""
        ctx = self._check_fitted()
        n_players = ctx.masking.n_players if by_group else x.shape[1]
        table = self._table(by_group) if use_table else None
        outputs = None
        if table is not None:
            offset = self.leaf_offset_
            outputs = None if offset is None else np.empty((x.shape[0], offset.shape[0]))
            combos = self._combos(by_group) if use_groups else None
            phi = (
                self._table_phi(x, by_group, table, n_players, outputs)
                if combos is None
                else self._combo_phi(x, combos, n_players, outputs)
            )
            if outputs is not None and offset is not None:
                outputs += offset
        else:
            phi = self._background_phi(x, by_group, n_players)
        return self._to_space(phi), ctx.game.outputs(x) if outputs is None else outputs

    def engineered_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        return self._values(x, by_group=False)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        return self._values(x, by_group=True)
