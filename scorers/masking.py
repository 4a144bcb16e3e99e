"""Where coalitions are masked, and the batched evaluation of the interventional game.

``Masking`` maps raw rows to an *encoded* matrix and says which encoded columns belong to which raw
feature (player).  ``Game`` evaluates ``v(S) = sum_b w_b f(x_S, b_notS)`` for many rows and coalitions
in as few model calls as memory allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

FloatArray = npt.NDArray[np.float64]

IDENTITY = "identity"
GROUPED = "grouped"
RAW = "raw"


@dataclass
class Masking:
    """``column_group[c]`` is the player (raw feature) of encoded column ``c``."""

    mode: str
    players: list[str]
    column_group: npt.NDArray[np.int64]
    encoded_names: list[str]
    encode: Callable[[pd.DataFrame], np.ndarray]
    _plan: tuple[bool, np.ndarray, np.ndarray, np.ndarray] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def n_players(self) -> int:
        return len(self.players)

    @property
    def singleton(self) -> bool:
        """Every player owns exactly one encoded column (engineered == raw explanations)."""
        return len(self.column_group) == self.n_players and bool(
            np.array_equal(np.sort(self.column_group), np.arange(self.n_players))
        )

    def group_sum(self, per_column: FloatArray) -> FloatArray:
        """(..., d) values per encoded column -> (..., M) per player.

        Each player's columns are added left to right in one ``reduceat``: the same order for every
        row, so a row's sum does not depend on the batch it is in.
        """
        if self._plan is None:
            order = np.argsort(self.column_group, kind="stable")
            players, starts = np.unique(self.column_group[order], return_index=True)
            identity = bool(np.array_equal(self.column_group, np.arange(self.n_players)))
            self._plan = (identity, order, players, starts)
        identity, order, players, starts = self._plan
        if identity:
            return np.array(per_column, dtype=np.float64)
        summed = np.add.reduceat(per_column[..., order], starts, axis=-1)
        if len(players) == self.n_players:
            return np.asarray(summed, dtype=np.float64)
        out = np.zeros(per_column.shape[:-1] + (self.n_players,))
        out[..., players] = summed
        return out


class Game:
    """Interventional values of a model function against a weighted, encoded background."""

    def __init__(
        self,
        masking: Masking,
        fn: Callable[[Any], FloatArray],
        background: np.ndarray,
        weights: FloatArray,
        max_batch: int = 250_000,
    ) -> None:
        self.masking = masking
        self.fn = fn
        self.background = background
        self._c_rows: np.ndarray | None = None
        self.weights = np.asarray(weights, dtype=np.float64) / np.sum(weights)
        self.max_batch = max_batch
        self.base: FloatArray = self.weights @ self.fn(background)

    def outputs(self, x: np.ndarray) -> FloatArray:
        return self.fn(x)

    @property
    def _rows(self) -> np.ndarray:
        """The background in row-major order, which the hybrids are built from: ``np.where`` lays its
        result out like its inputs, and from a column-major background (a DataFrame's values) every
        batch was a non-C array that ``reshape`` then copied whole (the same values either way)."""
        if self._c_rows is None:
            self._c_rows = np.ascontiguousarray(self.background)
        return self._c_rows

    def hybrid_values(self, x: np.ndarray, masks: npt.NDArray[np.bool_]) -> FloatArray:
        """f on every hybrid of one row, per background row (not averaged): x (1, d) -> (C, nb, K)."""
        cols = masks[:, self.masking.column_group]
        nb, d = self.background.shape
        hyb = np.where(cols[:, None, :], x[0][None, None, :], self._rows[None, :, :])
        f = self.fn(hyb.reshape(-1, d))
        return f.reshape(len(cols), nb, f.shape[1])

    def values(self, x: np.ndarray, masks: npt.NDArray[np.bool_]) -> FloatArray:
        """v for each row and coalition: x (n, d), masks (C, M) -> (n, C, K).

        One model call covers as many (row, coalition, background) hybrids as ``max_batch`` allows.
        """
        n, d = x.shape
        nb = self.background.shape[0]
        cols = masks[:, self.masking.column_group]  # (C, d)
        n_coal = cols.shape[0]
        per_row = n_coal * nb
        out: FloatArray | None = None
        if per_row <= self.max_batch:
            rows_per_call = max(1, self.max_batch // per_row)
            for start in range(0, n, rows_per_call):
                xs = np.ascontiguousarray(x[start : start + rows_per_call])
                hyb = np.where(cols[None, :, None, :], xs[:, None, None, :], self._rows[None, None, :, :])
                f = self.fn(hyb.reshape(-1, d))
                k = f.shape[1]
                v = np.einsum("rcbk,b->rck", f.reshape(len(xs), n_coal, nb, k), self.weights)
                if out is None:
                    out = np.empty((n, n_coal, k))
                out[start : start + len(xs)] = v
        else:
            coal_per_call = max(1, self.max_batch // nb)
            for i in range(n):
                for start in range(0, n_coal, coal_per_call):
                    cs = cols[start : start + coal_per_call]
                    hyb = np.where(cs[:, None, :], x[i][None, None, :], self._rows[None, :, :])
                    f = self.fn(hyb.reshape(-1, d))
                    k = f.shape[1]
                    v = np.einsum("cbk,b->ck", f.reshape(len(cs), nb, k), self.weights)
                    if out is None:
                        out = np.empty((n, n_coal, k))
                    out[i, start : start + len(cs)] = v
        assert out is not None
        return out
