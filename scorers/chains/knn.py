"""A KNN's values along permutation chains, without hybrid rows: ``KNeighborsRegressor`` and
``KNeighborsClassifier`` with uniform weights, Euclidean, Manhattan or Minkowski-p distances (issue 24).

A hybrid's distance to training row n, to the power p (squared for Euclidean), is a sum over encoded
columns of ``|h_c - t_nc|^p``, each term x's or the background row b's; summed per player, it is
``start[n] = sum_j B[j, n]`` plus, for each player j in the coalition, ``moves[j, n] = X[j, n] - B[j, n]``
(Euclidean: ``sum_c (x_c - b_c)(x_c + b_c - 2 t_nc)`` over the player's columns, one product per term).
So, per background row, the fused kernel computes the (player, training row) moves once, and each prefix
of an order costs one add per training row (the new player's move) and one compare: the k rows nearest
the previous prefix, moved by the same move, bound the new k-th distance from above, tightened by a few
reserve rows (the last rows pushed out of the set) that replace the set's farthest when nearer, and every
row farther than that bound is rejected by the compare; the few that pass replace the farthest of the set
when nearer (``_knn_kernel._step``).  (Dropping, per background row, the training rows that no coalition can bring
into the k + 1 nearest, by bounds on their distance over all coalitions, was tried: on
benchmarks/blackbox.py's KNN 282 of 300 rows survive, so it is not done.)

The prediction is the k nearest rows' mean target (regressor) or class fractions (classifier, then the
space's conversion, ``scorers.spaces``), as scikit-learn computes them.  Where the k-th and the (k + 1)-th
distances are within a rounding margin (``TIE`` relative to the distances' magnitude; the model's own
distances carry rounding too, and it breaks exact ties its own way), the hybrid goes to ``fallback``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import spaces
from .base import ChainPath, OutputFn

TIE = 1e-9  # the tie margin, relative to the distances' magnitude (both sides' rounding is ~1e-15 of it)
_EUCLIDEAN = ("euclidean", "l2")
_MANHATTAN = ("manhattan", "l1", "cityblock")


def _kernel() -> Any:
    """The fused numba kernel, compiled on its first call (``warm_up``); numba is imported only here."""
    from ._knn_kernel import chains

    return chains


def _power(head: Any) -> float | None:
    """The exponent p of the head's distance (as a sum of per-column terms), or None if it has none."""
    metric = getattr(head, "effective_metric_", None)
    params = dict(getattr(head, "effective_metric_params_", None) or {})
    if metric in _EUCLIDEAN and not params:
        return 2.0
    if metric in _MANHATTAN and not params:
        return 1.0
    if metric == "minkowski" and set(params) <= {"p", "w"} and params.get("w") is None:
        p = float(params.get("p", 2.0))
        return p if 0.0 < p < np.inf else None
    return None


class KnnChain(ChainPath):
    """A scikit-learn KNN's prefix values by the fused kernel (module docstring)."""

    name = "numba-chain-knn"

    def __init__(
        self,
        train: np.ndarray,
        targets: np.ndarray,
        k: int,
        power: float,
        space: str,
        group: np.ndarray,
        n_players: int,
    ) -> None:
        self.train = np.ascontiguousarray(train, dtype=np.float64)
        self.train_t = np.ascontiguousarray(self.train.T)
        self.targets = np.ascontiguousarray(targets, dtype=np.float64)
        self.k = k
        self.power = power
        self.space = space
        self.group = np.ascontiguousarray(group, dtype=np.int64)
        self.n_players = n_players
        self.train_scale = float(np.max(np.sum(np.abs(self.train) ** power, axis=1)))

    @classmethod
    def build(cls, head: Any, space: str, column_group: np.ndarray, n_players: int) -> KnnChain | None:
        from scipy.sparse import issparse
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        kind = type(head)
        if kind not in (KNeighborsClassifier, KNeighborsRegressor) or head.weights != "uniform":
            return None
        power = _power(head)
        train = getattr(head, "_fit_X", None)
        group = np.asarray(column_group)
        if power is None or train is None or issparse(train) or np.ndim(train) != 2:
            return None
        if train.shape[1] != len(group) or not int(head.n_neighbors) < len(train) or n_players < 1:
            return None
        if group.min(initial=0) < 0 or group.max(initial=0) >= n_players:
            return None
        labels = np.asarray(head._y)
        if kind is KNeighborsRegressor:
            if space != spaces.RAW:
                return None
            targets = labels.astype(np.float64).reshape(len(train), -1)
        else:
            if head.outputs_2d_ or space not in (spaces.PROBABILITY, spaces.LOG_ODDS):
                return None
            targets = np.eye(len(head.classes_))[labels.astype(np.int64)]
        return cls(train, targets, int(head.n_neighbors), power, space, group, n_players)

    def _margin(self, x: np.ndarray, background: np.ndarray) -> float:
        """The tie margin: TIE times a bound on the terms the distances are computed from (both x's and
        the rows' columns, and the training rows'), the magnitude of either side's rounding."""
        widest = np.maximum(np.abs(x), np.abs(background).max(axis=0, initial=0.0))
        return TIE * (1.0 + self.train_scale + float(np.sum(widest**self.power)))

    def values(
        self, x: np.ndarray, background: np.ndarray, orders: np.ndarray, fallback: OutputFn
    ) -> np.ndarray:
        x = np.ascontiguousarray(x, dtype=np.float64)
        background = np.ascontiguousarray(background, dtype=np.float64)
        orders = np.ascontiguousarray(orders, dtype=np.int64)
        r, p, m = orders.shape
        out = np.zeros((r, p, max(m - 1, 0), self.targets.shape[1]))
        tie = np.ones(out.shape[:3], dtype=np.bool_)
        if m > 1 and bool(np.isfinite(x).all()):  # a non-finite row: the model's own answer, every hybrid
            margin = self._margin(x, background)
            _kernel()(
                x,
                background,
                orders,
                self.train_t,
                self.targets,
                self.group,
                self.k,
                self.power,
                margin,
                out,
                tie,
            )
            if self.space != spaces.PROBABILITY and self.space != spaces.RAW:
                out = spaces.from_probability(out.reshape(-1, out.shape[-1]), self.space).reshape(out.shape)
        if tie.any():
            where = np.nonzero(tie)
            rank = np.argsort(orders[where[0], where[1]], axis=-1)  # (n, M): each player's position
            in_prefix = rank[:, self.group] <= where[2][:, None]  # (n, d)
            hybrids = np.where(in_prefix, x[None, :], background[where[0]])
            out[where] = np.asarray(fallback(hybrids), dtype=np.float64).reshape(len(hybrids), -1)
        return out

    def warm_up(self) -> None:
        d, m = len(self.group), self.n_players
        train_t = np.zeros((d, self.k + 1))
        orders = np.arange(m, dtype=np.int64)[None, None, :]
        out = np.zeros((1, 1, max(m - 1, 0), self.targets.shape[1]))
        tie = np.zeros(out.shape[:3], dtype=np.bool_)
        targets = np.zeros((self.k + 1, self.targets.shape[1]))
        _kernel()(
            np.zeros(d),
            np.zeros((1, d)),
            orders,
            train_t,
            targets,
            self.group,
            self.k,
            self.power,
            0.0,
            out,
            tie,
        )

    @property
    def speedup(self) -> float:
        """How many antithetic pairs of chain prefixes cost what one pair of hybrid rows costs, per
        background row, by an operation count per training row (no clock): the scorer serves
        ``floor(pairs x speedup)`` pairs.  A hybrid row costs the model its d column terms and one
        selection compare, plus the output (k x K adds).  A prefix costs one add and one compare (the
        fused pass), k loads and k compares for the set's bound, and the output.  The background row's
        set-up (2 d terms for Euclidean, d terms and 2 M adds otherwise, and one selection compare) is paid
        once per explained row whatever the pairs, so it is taken from the one pair of hybrid rows it
        replaces (its 2 (M - 1) prefixes), not charged to each chain pair.  Not counted: the model call's
        own overhead on the hybrid side, and the chain's few candidate rows per prefix (data-dependent):
        benchmarks/knn_chain.py prints this count next to the measured one.  0 when the set-up alone costs
        more than the hybrid rows."""
        n, d = self.train.shape
        m = self.n_players
        output = self.k * self.targets.shape[1]
        hybrid = n * (d + 1) + output
        prefix = 2 * n + 2 * self.k + output
        setup = n * (2 * d + 1) if self.power == 2.0 else n * (d + 2 * m + 1)
        return max(0.0, float((hybrid - setup / (2 * max(m - 1, 1))) / prefix))
