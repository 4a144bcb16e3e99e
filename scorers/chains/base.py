"""The chain-path protocol: a model evaluated along permutation chains without hybrid rows (issue 24).

The ``permutation`` scorer needs, per background row and permutation, the model's output at every proper
prefix of the order (``scorers.kinds.permutation``).  Built plainly, that is one hybrid row per prefix
through the model.  For some families the model's work on a prefix is the previous prefix's plus one
player's move (an MLP's first-layer pre-activation, a KNN's per-feature distance terms), so a chain path
returns the same ``(R, P, M - 1, K)`` array for far less work, and the scorer spends the saving on more
permutation pairs (decision 45).  A path is served only when it matches the scorer's own model function
on probe rows at packaging (``scorers.chains.choose``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

OutputFn = Callable[[np.ndarray], np.ndarray]


class ChainPath(ABC):
    name: ClassVar[str]  # recorded in the manifest, e.g. "numba-chain-mlp", "numba-chain-knn"

    @classmethod
    @abstractmethod
    def build(cls, head: Any, space: str, column_group: np.ndarray, n_players: int) -> ChainPath | None:
        """The path for this fitted head (a scikit-learn estimator in the explained, encoded space) and
        output space, or None when the head is not one it reads (any unsupported parameter -> None)."""

    @abstractmethod
    def values(
        self, x: np.ndarray, background: np.ndarray, orders: np.ndarray, fallback: OutputFn
    ) -> np.ndarray:
        """x: (d,) float64, one encoded row; background: (R, d) float64; orders: (R, P, M) int64, each a
        permutation of the M players (column_group maps each of the d encoded columns to its player).
        Returns (R, P, M - 1, K) float64: out[r, p, t] = f(hybrid) where the hybrid takes from x the
        columns of the first t + 1 players of orders[r, p] and the other columns from background[r];
        f is the model's output in `space`, exactly as the scorer's game function (`fallback`, an
        OutputFn (n, d) -> (n, K)) computes it (parity <= 1e-10 is checked at packaging on probe rows).
        Hybrids the path cannot decide exactly (a KNN tie at the k-th neighbour) are evaluated by
        `fallback`. Must not depend on P being even; when orders come in antithetic pairs (orders[:, 1::2]
        is orders[:, 0::2] reversed) it may exploit it."""

    @abstractmethod
    def warm_up(self) -> None:
        """Compile (numba) once, at load, so that no request pays for compilation."""

    @property
    @abstractmethod
    def speedup(self) -> float:
        """How many antithetic pairs of chain prefixes cost what one pair of hybrid rows costs, by an
        operation count of this head (deterministic, no clock): the permutation scorer serves
        ``chain_pairs(pairs, speedup)`` pairs per background row (``scorers.kinds.permutation``, decision 45)."""
