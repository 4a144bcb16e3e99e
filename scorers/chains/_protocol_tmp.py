"""A temporary copy of the shared chain-path protocol (``scorers/chains/base.py`` is written on another
branch); the KNN path imports it from here until the lead switches the import at merge."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np

from ..runtimes.base import OutputFn


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
        """Hybrid-row cost / chain-prefix cost by an operation count of this head (deterministic, no
        clock): the permutation scorer serves floor(speedup x today's pairs) pairs, capped (see task)."""
