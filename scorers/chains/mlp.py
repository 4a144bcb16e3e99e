"""``numba-chain-mlp``: a scikit-learn MLP along permutation chains (``scorers.chains.base``).

The first layer's pre-activation of a hybrid ``h`` against background row ``b`` is
``b W + c + sum over the players in the prefix of m_j``, ``m_j = sum over j's columns (x_c - b_c) W[c]``:
a running sum along the order, one vector add per prefix instead of ``d x H`` multiply-adds.  The rest of
the network (hidden activation, the later layers) runs per prefix in the same fused loop.  When the
orders come in antithetic pairs, the reverse order's prefix of ``t + 1`` players is the complement of the
forward prefix of ``M - t - 1``, so its pre-activation is ``start + end - forward`` (one subtraction).
The loop ends at the output layer's pre-activation; scikit-learn's own output activation and
``scorers.spaces`` turn it into the explained space, as the game function does.

Any hidden activation scikit-learn has (identity, logistic, tanh, relu, the ReLU branch-free:
``max(v, 0.0) * w``), any depth, binary (one logistic output), multiclass (softmax) and regressors (any
number of outputs); multilabel classifiers have no chain path.  float64 throughout, one thread.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import spaces
from .base import ChainPath, OutputFn

ACTIVATIONS = {"identity": 0, "logistic": 1, "tanh": 2, "relu": 3}


def _kernel(hidden: int) -> Any:
    """The fused numba loop for this hidden activation, compiled on its first call (``warm_up``); numba
    is imported only here."""
    from ._mlp_kernel import compiled

    return compiled(hidden)


class MlpChain(ChainPath):
    name = "numba-chain-mlp"

    def __init__(self, head: Any, space: str, column_group: np.ndarray, n_players: int) -> None:
        coefs = [np.asarray(w, dtype=np.float64) for w in head.coefs_]
        biases = [np.asarray(b, dtype=np.float64) for b in head.intercepts_]
        self.w0 = np.ascontiguousarray(coefs[0])  # (d, H1)
        self.b0 = np.ascontiguousarray(biases[0])
        # the later layers, each transposed (out, in) so that a unit's inputs are contiguous, flattened
        self.widths = np.array([w.shape[1] for w in coefs], dtype=np.int64)  # H1, ..., K
        self.rest_w = np.concatenate([np.ravel(w.T) for w in coefs[1:]] + [np.zeros(0)])
        self.rest_b = np.concatenate(biases[1:] + [np.zeros(0)])
        self.hidden = ACTIVATIONS[str(head.activation)]
        self.out_activation = str(head.out_activation_)
        self.classifier = hasattr(head, "classes_")
        self.space = space
        self.group = np.ascontiguousarray(column_group, dtype=np.int64)
        self.n_players = int(n_players)

    @classmethod
    def build(cls, head: Any, space: str, column_group: np.ndarray, n_players: int) -> ChainPath | None:
        from sklearn.neural_network import MLPClassifier, MLPRegressor

        if type(head) not in (MLPClassifier, MLPRegressor) or not hasattr(head, "coefs_"):
            return None  # a subclass may change the forward pass
        if str(head.activation) not in ACTIVATIONS or len(column_group) != head.coefs_[0].shape[0]:
            return None
        if isinstance(head, MLPRegressor):
            ok = space == spaces.RAW and head.out_activation_ in ("identity", "exp")  # squared error, poisson
        else:
            binary = head.out_activation_ == "logistic" and head.n_outputs_ == 1 and len(head.classes_) == 2
            multiclass = head.out_activation_ == "softmax" and len(head.classes_) == head.n_outputs_ > 2
            ok = space in (spaces.PROBABILITY, spaces.LOG_ODDS) and (binary or multiclass)
        return cls(head, space, column_group, n_players) if ok else None

    def values(
        self, x: np.ndarray, background: np.ndarray, orders: np.ndarray, fallback: OutputFn
    ) -> np.ndarray:
        r, p, m = orders.shape
        out = np.empty((r, p, max(0, m - 1), int(self.widths[-1])))
        if m < 2 or r == 0 or p == 0:
            return self._space(out)
        paired = p % 2 == 0 and bool(np.array_equal(orders[:, 1::2], orders[:, 0::2, ::-1]))
        _kernel(self.hidden)(
            np.ascontiguousarray(x, dtype=np.float64),
            np.ascontiguousarray(background, dtype=np.float64),
            np.ascontiguousarray(orders, dtype=np.int64),
            self.group,
            self.n_players,
            self.w0,
            self.b0,
            self.widths,
            self.rest_w,
            self.rest_b,
            paired,
            out,
        )
        return self._space(out)

    def _space(self, pre: np.ndarray) -> np.ndarray:
        """The output layer's pre-activations (..., K) -> the explained space, as scikit-learn's
        ``predict`` / ``predict_proba`` and ``scorers.spaces`` compute it."""
        from sklearn.neural_network._base import ACTIVATIONS as SKLEARN

        shape = pre.shape
        y = pre.reshape(-1, shape[-1])
        if self.out_activation == "logistic":  # scipy's expit, by numpy's vectorised exp (3x faster here)
            np.negative(y, out=y)
            np.exp(y, out=y)
            y += 1.0
            np.reciprocal(y, out=y)
        else:
            SKLEARN[self.out_activation](y)  # in place, as in scikit-learn's forward pass
        if not self.classifier:
            return y.reshape(shape)
        proba = np.hstack([1 - y, y]) if y.shape[1] == 1 else y
        return spaces.from_probability(proba, self.space).reshape(*shape[:-1], proba.shape[1])

    def warm_up(self) -> None:
        d = len(self.group)
        orders = np.tile(np.arange(self.n_players, dtype=np.int64), (1, 2, 1))
        orders[:, 1] = orders[:, 0, ::-1]
        self.values(np.zeros(d), np.zeros((1, d)), orders, lambda h: h)

    @property
    def speedup(self) -> float:
        """Floating-point operations of one hybrid row through the network over one chain prefix's
        (a multiply-add is two).

        A hybrid row: its ``d`` columns selected from x or b, ``2 d H1 + H1`` for the first layer, then
        the rest.  A prefix: ``H1`` (the player's move added, or for the reverse order ``both - z``
        subtracted), then the same rest.  The rest: each hidden unit's activation, then each later
        layer's ``2 n_in n_out + n_out``.  A background row's set-up (``b W + c`` and the players' moves,
        ``4 d H1``) is shared by all its pairs, like its own value f(b) on the hybrid path, and is left out:
        at the served pairs it adds under 10% to a prefix's count (decision 45)."""
        d, h1 = self.w0.shape[0], int(self.widths[0])
        pairs = zip(self.widths[:-1], self.widths[1:], strict=True)
        rest = sum(int(a) + 2 * int(a) * int(b) + int(b) for a, b in pairs)
        return float((d + 2 * d * h1 + h1 + rest) / (h1 + rest))
