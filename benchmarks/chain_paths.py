"""Model values along permutation chains for two scikit-learn families, without building hybrid rows
(issue 24; measured by ``benchmarks/permutation_chains.py``, not served: docs/fidelity.md says why).

The ``permutation`` scorer evaluates, per background row b and permutation, the prefixes of the order:
``f(x_S, b_notS)`` where each prefix adds one player to the last.  For two families the model's work
on a hybrid is a sum over encoded columns of a term that is either x's or b's, so a chain costs one
running sum instead of M - 1 hybrid rows through the model:

- ``MLPClassifier`` / ``MLPRegressor``: the first layer's pre-activation ``h W + c`` of a hybrid is
  ``b W + c`` plus, for each player in the prefix, ``sum over its columns (x_c - b_c) W[c]``; the rest of
  the network runs on those pre-activations (sklearn's own activations, same order of layers).
- ``KNeighborsRegressor`` / ``KNeighborsClassifier`` (uniform weights, Euclidean or Manhattan): a
  hybrid's distance to training point t, squared (Euclidean), is a sum over columns of ``(x_c - t_c)^2``
  or ``(b_c - t_c)^2``; the k smallest per hybrid are its neighbours.  A hybrid whose k-th and (k+1)-th
  distances are within rounding of each other (a tie, which the model breaks its own way) is evaluated
  by the model function itself.

Each path is checked against the model function before it is measured (the benchmark: every hybrid of
one row's chains, to 1e-9).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from scorers import spaces
from scorers.masking import RAW

FloatArray = npt.NDArray[np.float64]
Fn = Callable[[np.ndarray], FloatArray]
PARITY = 1e-9  # largest |chain - model function| accepted; also the tie margin (relative)
CHUNK = 262144  # floats per intermediate block (2 MB: it stays in cache)


def _activation(name: str, z: FloatArray) -> FloatArray:
    """scikit-learn's MLP activations (``sklearn.neural_network._base.ACTIVATIONS``), same operations."""
    if name == "relu":
        return np.maximum(z, 0)
    if name == "tanh":
        return np.tanh(z)
    if name == "logistic":
        from scipy.special import expit

        return np.asarray(expit(z))
    if name == "softmax":
        tmp = z - z.max(axis=1)[:, np.newaxis]
        tmp = np.exp(tmp)
        return np.asarray(tmp / tmp.sum(axis=1)[:, np.newaxis])
    return z  # identity


class MlpChain:
    """An MLP's forward pass from its first layer's pre-activations (module docstring)."""

    name = "numpy-mlp-chain"

    def __init__(self, head: Any, space: str) -> None:
        from sklearn.base import is_classifier

        self.coefs = [np.asarray(c, dtype=np.float64) for c in head.coefs_]
        self.intercepts = [np.asarray(c, dtype=np.float64) for c in head.intercepts_]
        self.hidden = str(head.activation)
        self.out = str(head.out_activation_)
        self.space = space
        self.classifier = bool(is_classifier(head))

    @staticmethod
    def applies(head: Any, space: str) -> bool:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        if isinstance(head, MLPRegressor):
            return space == spaces.RAW
        return (
            isinstance(head, MLPClassifier)
            and space in (spaces.PROBABILITY, spaces.LOG_ODDS)
            and (head.out_activation_ == "softmax" or head.n_outputs_ == 1)  # not multilabel
        )

    def _from_first(self, z: FloatArray) -> FloatArray:
        """(n, H1) first-layer pre-activations -> (n, K) in the space."""
        a = z
        for i in range(1, len(self.coefs)):
            a = _activation(self.hidden, a)
            a = a @ self.coefs[i] + self.intercepts[i]
        y = _activation(self.out, a)
        if not self.classifier:
            return y
        proba = np.hstack([1 - y, y]) if y.shape[1] == 1 else y
        return spaces.from_probability(proba, self.space)

    def outputs(self, x: np.ndarray, fn: Fn) -> FloatArray:
        """The model on plain rows (checked against ``fn`` on the background)."""
        return self._from_first(np.asarray(x, dtype=np.float64) @ self.coefs[0] + self.intercepts[0])

    def chain(
        self, x: np.ndarray, bg: np.ndarray, orders: np.ndarray, owner: FloatArray, fn: Fn
    ) -> FloatArray:
        w, c = self.coefs[0], self.intercepts[0]
        nb, p, m = orders.shape
        step = max(1, CHUNK // max(1, p * m * w.shape[1]))
        out = []
        for lo in range(0, nb, step):
            b, o = bg[lo : lo + step], orders[lo : lo + step]
            start = b @ w + c  # (nb', H): each row's empty coalition
            per_player = _by_player((x[None, :] - b)[:, :, None] * w[None], owner)  # (nb', M, H)
            z = _prefix_values(per_player, o, start)  # (nb', P, M - 1, H)
            out.append(self._from_first(z.reshape(-1, z.shape[-1])).reshape(*z.shape[:3], -1))
        return np.concatenate(out)


def _prefix_values(moves: FloatArray, orders: np.ndarray, start: FloatArray) -> FloatArray:
    """``start`` plus the moves of each order's first t + 1 players: (n, M, W), (n, P, M), (n, W) ->
    (n, P, M - 1, W).

    Where the orders come in antithetic pairs (each followed by its reverse), the reverse's prefix of
    t + 1 players is the complement of the forward's prefix of M - t - 1, so its value is
    ``start + end - forward[M - t - 2]`` (``end`` = start plus every move): one subtraction instead of a
    gather and a running sum."""
    n, p, m = orders.shape
    out = np.empty((n, p, m - 1, moves.shape[-1]))
    paired = p % 2 == 0 and bool(np.array_equal(orders[:, 1::2], orders[:, 0::2, ::-1]))
    first = out[:, 0::2] if paired else out
    first[...] = moves[np.arange(n)[:, None, None], (orders[:, 0::2] if paired else orders)[:, :, :-1]]
    for t in range(1, m - 1):  # a running sum, one slice at a time (np.cumsum on a middle axis is slow)
        first[:, :, t] += first[:, :, t - 1]
    first += start[:, None, None, :]
    if paired:
        end = start + moves.sum(axis=1)
        out[:, 1::2] = (start + end)[:, None, None, :] - first[:, :, ::-1]
    return out


def _by_player(per_column: FloatArray, owner: FloatArray) -> FloatArray:
    """(n, d, ...) per encoded column -> (n, M, ...) per player (each player's columns summed)."""
    if owner.shape[0] == owner.shape[1] and np.array_equal(owner, np.eye(len(owner))):
        return per_column
    return np.einsum("nd...,dm->nm...", per_column, owner)


class KnnChain:
    """k nearest neighbours from per-column distance terms (module docstring)."""

    name = "numpy-knn-chain"

    def __init__(self, head: Any, space: str) -> None:
        from sklearn.base import is_classifier

        self.train = np.asarray(head._fit_X, dtype=np.float64)  # (N, d)
        self.k = int(head.n_neighbors)
        self.p = 1 if head.effective_metric_ == "manhattan" else 2
        self.space = space
        self.classifier = bool(is_classifier(head))
        if self.classifier:  # one-hot of each training row's class: a hybrid's proba is its neighbours' mean
            self.targets = np.eye(len(head.classes_))[np.asarray(head._y, dtype=np.int64)]
        else:
            self.targets = np.asarray(head._y, dtype=np.float64).reshape(len(self.train), -1)
        self.scale = float(np.max(np.sum(self.train**2, axis=1)))  # the distances' magnitude (rounding)

    @staticmethod
    def applies(head: Any, space: str) -> bool:
        from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

        if not isinstance(head, KNeighborsClassifier | KNeighborsRegressor):
            return False
        metric = getattr(head, "effective_metric_", None)
        params = getattr(head, "effective_metric_params_", None) or {}
        if head.weights != "uniform" or metric not in ("euclidean", "manhattan") or params:
            return False
        if isinstance(head, KNeighborsRegressor):
            return space == spaces.RAW
        return not head.outputs_2d_ and space in (spaces.PROBABILITY, spaces.LOG_ODDS)

    def _terms(self, rows: np.ndarray, owner: FloatArray) -> FloatArray:
        """(n, d) rows -> (n, M, N): each player's part of the distance (to the p) to each training row."""
        diff = rows[:, :, None] - self.train.T[None]  # (n, d, N)
        return _by_player(diff * diff if self.p == 2 else np.abs(diff), owner)

    def _predict(self, dist: FloatArray) -> tuple[FloatArray, np.ndarray]:
        """(n, N) distances -> (n, K) values and which rows are near a tie at the k-th neighbour."""
        n_train = dist.shape[1]
        if n_train <= self.k:
            near = np.zeros(len(dist), dtype=bool)
            idx = np.broadcast_to(np.arange(n_train), dist.shape)
        else:
            idx = np.argpartition(dist, [self.k - 1, self.k], axis=1)
            kth = np.take_along_axis(dist, idx[:, self.k - 1 : self.k + 1], axis=1)
            near = kth[:, 1] - kth[:, 0] <= PARITY * (1.0 + self.scale + kth[:, 1])
            idx = idx[:, : self.k]
        y = self.targets[idx].mean(axis=1)
        if self.classifier:
            y = spaces.from_probability(y, self.space)
        return y, near

    def outputs(self, x: np.ndarray, fn: Fn) -> FloatArray:
        """The model on plain rows; a row at a tie is ``fn``'s."""
        x = np.asarray(x, dtype=np.float64)
        dist = np.abs(x[:, :, None] - self.train.T[None]) ** self.p
        y, near = self._predict(dist.sum(axis=1))
        if near.any():
            y[near] = fn(x[near])
        return y

    def chain(
        self, x: np.ndarray, bg: np.ndarray, orders: np.ndarray, owner: FloatArray, fn: Fn
    ) -> FloatArray:
        nb, p, m = orders.shape
        n_train = len(self.train)
        step = max(1, CHUNK // max(1, p * m * n_train))
        at_x = self._terms(x[None, :], owner)[0]  # (M, N)
        out = []
        for lo in range(0, nb, step):
            b, o = bg[lo : lo + step], orders[lo : lo + step]
            at_b = self._terms(b, owner)  # (nb', M, N)
            # player j moves from b's term to x's: (nb', P, M - 1, N)
            dist = _prefix_values(at_x[None] - at_b, o, at_b.sum(axis=1))
            y, near = self._predict(dist.reshape(-1, n_train))
            if near.any():  # a tie at the k-th neighbour: the model function breaks it
                rank = np.argsort(o, axis=-1)[:, :, None, :]
                masks = (rank <= np.arange(m - 1)[None, None, :, None]).reshape(-1, m)  # prefix masks
                rows = np.repeat(np.arange(len(b)), p * (m - 1))
                hyb = np.where(masks[near] @ owner.T > 0, x[None, :], b[rows[near]])
                y[near] = fn(hyb)
            out.append(y.reshape(len(b), p, m - 1, -1))
        return np.concatenate(out)


FAMILIES: tuple[type[MlpChain] | type[KnnChain], ...] = (MlpChain, KnnChain)


def chain_path(head: Any, space: str, mode: str) -> MlpChain | KnnChain | None:
    """The chain path of ``head`` in ``space`` (the head must see the encoded rows), or None."""
    if head is None or mode == RAW:
        return None
    for family in FAMILIES:
        if family.applies(head, space):
            return family(head, space)
    return None


def owner_matrix(column_group: np.ndarray, n_players: int) -> FloatArray:
    """(d, M): 1 where encoded column c belongs to player j."""
    owner = np.zeros((len(column_group), n_players))
    owner[np.arange(len(column_group)), column_group] = 1.0
    return owner
