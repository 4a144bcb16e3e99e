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
when nearer (``_step``).  (Dropping, per background row, the training rows that no coalition can bring
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
from numba import njit, types
from numba.extending import intrinsic

from .. import spaces
from ..runtimes.base import OutputFn
from ._protocol_tmp import ChainPath

TIE = 1e-9  # the tie margin, relative to the distances' magnitude (both sides' rounding is ~1e-15 of it)
RESERVE = (
    4  # rows just pushed out of the set, tried first each prefix (benchmarks/README.md: 2, 4 and 8 measured)
)
_EUCLIDEAN = ("euclidean", "l2")
_MANHATTAN = ("manhattan", "l1", "cityblock")


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


@njit(fastmath=True, cache=False)
def _player_terms(row, train_t, group, power, out):  # type: ignore[no-untyped-def]
    """out[j, n] = sum over player j's columns c of |row_c - train_t[c, n]|^power."""
    out[:] = 0.0
    for c in range(train_t.shape[0]):
        at = out[group[c]]
        col = train_t[c]
        v = row[c]
        if power == 2.0:
            for n in range(col.shape[0]):
                at[n] += (v - col[n]) * (v - col[n])
        elif power == 1.0:
            for n in range(col.shape[0]):
                at[n] += abs(v - col[n])
        else:
            for n in range(col.shape[0]):
                at[n] += abs(v - col[n]) ** power


@njit(fastmath=True, cache=False)
def _smallest(values, m, best_d, best_i):  # type: ignore[no-untyped-def]
    """The m smallest of values into best_d / best_i, ascending (the first seen first among equals)."""
    filled = 0
    for i in range(values.shape[0]):
        v = values[i]
        if filled < m:
            pos = filled
            filled += 1
        elif v < best_d[m - 1]:
            pos = m - 1
        else:
            continue
        while pos > 0 and best_d[pos - 1] > v:
            best_d[pos] = best_d[pos - 1]
            best_i[pos] = best_i[pos - 1]
            pos -= 1
        best_d[pos] = v
        best_i[pos] = i


@intrinsic
def _cttz(typingctx, x):  # type: ignore[no-untyped-def]
    """Trailing zero bits of a uint64 (LLVM's cttz): the index of its lowest set bit."""
    from llvmlite import ir

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        return builder.cttz(args[0], ir.Constant(ir.IntType(1), 1))

    return types.int64(types.uint64), codegen


@njit(fastmath=True, cache=False, inline="always")
def _top(best_d, size):  # type: ignore[no-untyped-def]
    """The slot of the largest of best_d[:size] (branch-free scan)."""
    slot = 0
    top = best_d[0]
    for q in range(1, size):
        bigger = best_d[q] > top
        top = best_d[q] if bigger else top
        slot = q if bigger else slot
    return slot


@njit(fastmath=True, cache=False, inline="always")
def _step(dist, row, k, near, best_d, flags, words, cand, margin, member, reserve, slot_in):  # type: ignore[no-untyped-def]
    """One prefix: dist += row; near / best_d become the k nearest rows and their distances (in no
    order), member flags them.  Returns whether the k-th and the (k + 1)-th are within margin, and the
    reserve's next slot.

    The previous prefix's k nearest, moved by ``row``, bound the new k-th distance from above; the reserve
    rows (not in the set) replace the set's farthest when nearer, tightening that bound to the k-th of
    both.  One vectorised pass adds ``row`` to every distance and flags the rows at or below the bound
    plus ``margin`` (every other row is rejected by that one compare, and is farther than the k-th by
    more than margin), the set's own then unflagged; the flags are read back a word of 8 at a time, the
    non-zero words found by their bits (``_cttz``), and each flagged row replaces the farthest of the set
    when nearer, the row it pushes out going to the reserve (a ring).  The nearest row outside the set is
    among the rows pushed out or flagged and not taken, unless it is farther than the k-th by more than
    margin.  No sort: the set's farthest is a branch-free scan."""
    for q in range(k):
        i = near[q]
        best_d[q] = dist[i] + row[i]
    slot = _top(best_d, k)
    for q in range(reserve.shape[0]):
        i = reserve[q]
        if member[i]:
            continue
        v = dist[i] + row[i]
        if v < best_d[slot]:
            member[near[slot]] = 0
            member[i] = 1
            reserve[q] = near[slot]
            best_d[slot] = v
            near[slot] = i
            slot = _top(best_d, k)
    tau = best_d[slot] + margin
    for i in range(dist.shape[0]):
        v = dist[i] + row[i]
        dist[i] = v
        flags[i] = v <= tau
    for q in range(k):
        flags[near[q]] = 0  # the set's own rows are no candidates
    n_cand = 0
    for lo in range(0, words.shape[0], 64):
        hi = min(lo + 64, words.shape[0])
        hit = np.uint64(0)
        for w in range(lo, hi):
            hit |= np.uint64(words[w] != 0) << np.uint64(w - lo)
        while hit != 0:
            w = lo + _cttz(hit)
            hit &= hit - np.uint64(1)
            for i in range(8 * w, 8 * w + 8):
                cand[n_cand] = i
                n_cand += flags[i]
    second = np.inf  # the nearest row seen outside the set
    ring = slot_in
    for q in range(n_cand):
        i = cand[q]
        v = dist[i]
        if v < best_d[slot]:
            second = min(second, best_d[slot])
            member[near[slot]] = 0
            member[i] = 1
            reserve[ring] = near[slot]
            ring = ring + 1 if ring + 1 < reserve.shape[0] else 0
            best_d[slot] = v
            near[slot] = i
            slot = _top(best_d, k)
        else:
            second = min(second, v)
    return second - best_d[slot] <= margin, ring


@njit(fastmath=True, cache=False)
def _moves(x, b, train_t, group, power, at_x, at_b, moves, start):  # type: ignore[no-untyped-def]
    """One background row's set-up: start[n] = b's distance term sum to training row n, moves[j, n] =
    player j's change of it when x's columns replace b's (at_x: x's terms, unused when power is 2)."""
    n_train = train_t.shape[1]
    start[:] = 0.0
    if power == 2.0:
        moves[:] = 0.0
        for c in range(train_t.shape[0]):
            at = moves[group[c]]
            col = train_t[c]
            bc = b[c]
            diff = x[c] - bc
            both = x[c] + bc
            for n in range(n_train):
                at[n] += diff * (both - 2.0 * col[n])
                start[n] += (bc - col[n]) * (bc - col[n])
    else:
        _player_terms(b, train_t, group, power, at_b)
        for j in range(moves.shape[0]):
            for n in range(n_train):
                start[n] += at_b[j, n]
                moves[j, n] = at_x[j, n] - at_b[j, n]


@njit(fastmath=True, cache=False)
def _chains(x, background, orders, train_t, targets, group, k, power, margin, out, tie):  # type: ignore[no-untyped-def]
    """The fused kernel (module docstring): fills out (R, P, M - 1, K) and tie (R, P, M - 1)."""
    n_rows, n_orders, m = orders.shape
    n_train = train_t.shape[1]
    n_out = targets.shape[1]
    n_reserve = min(RESERVE, n_train - k)
    at_x = np.empty((m, n_train))
    if power != 2.0:
        _player_terms(x, train_t, group, power, at_x)
    at_b = np.empty((m, n_train))
    moves = np.empty((m, n_train))
    start = np.empty(n_train)
    dist = np.empty(n_train)
    cand = np.empty(n_train, dtype=np.int64)
    flags = np.zeros(8 * ((n_train + 7) // 8), dtype=np.uint8)  # the tail stays 0
    words = flags.view(np.uint64)
    member = np.zeros(n_train, dtype=np.uint8)
    first_d = np.empty(k + n_reserve)
    first = np.empty(k + n_reserve, dtype=np.int64)
    best_d = np.empty(k)
    near = np.empty(k, dtype=np.int64)
    reserve = np.empty(n_reserve, dtype=np.int64)
    for r in range(n_rows):
        _moves(x, background[r], train_t, group, power, at_x, at_b, moves, start)
        _smallest(start, k + n_reserve, first_d, first)
        for p in range(n_orders):
            dist[:] = start
            member[:] = 0
            near[:] = first[:k]
            member[near] = 1
            reserve[:] = first[k:]
            ring = 0
            for t in range(m - 1):
                tie[r, p, t], ring = _step(
                    dist,
                    moves[orders[r, p, t]],
                    k,
                    near,
                    best_d,
                    flags[:n_train],
                    words,
                    cand,
                    margin,
                    member,
                    reserve,
                    ring,
                )
                for o in range(n_out):
                    s = 0.0
                    for q in range(k):
                        s += targets[near[q], o]
                    out[r, p, t, o] = s / k


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
            _chains(
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
        _chains(
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
