"""The values a counterfactual may take, each with its encoding: the stored training rows and the rows
asked about, encoded once (one call of the preprocessing), so that a candidate is a *source index* per
feature and its encoded row is gathered, never re-encoded.

That a feature's encoded columns depend on that feature's raw value alone is the assumption the
interventional game already makes (``scorers.masking``: hybrids swap column groups), so the gathered row
is the encoding of the candidate.  Changed numbers take training values only (``grid``): plausible and
whole where the training values are.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .space import FloatArray

IntArray = np.ndarray


@dataclass(frozen=True)
class Bank:
    z: FloatArray  # (N, M) rows in the search space: the pool first, then the rows asked about
    e: FloatArray  # (N, d) their encodings
    group: IntArray  # (d,) the feature of each encoded column
    grid: list[tuple[FloatArray, IntArray]]  # per feature: sorted distinct finite pool values, a row each

    @classmethod
    def build(cls, z: FloatArray, e: FloatArray, group: IntArray, n_pool: int) -> Bank:
        grid = []
        for j in range(z.shape[1]):
            col = z[:n_pool, j]
            values, rows = np.unique(col[np.isfinite(col)], return_index=True)
            grid.append((values, np.flatnonzero(np.isfinite(col))[rows]))
        return cls(z, e, np.asarray(group, dtype=np.int64), grid)

    def choices(self, j: int) -> IntArray:
        """A pool row for each distinct value feature ``j`` takes there (sorted): its single changes."""
        return self.grid[j][1]

    def extend(self, z: FloatArray, e: FloatArray) -> Bank:
        """This bank with the rows asked about appended (their indices start at ``len(self.z)``)."""
        return Bank(np.concatenate([self.z, z]), np.concatenate([self.e, e]), self.group, self.grid)

    def rows(self, src: IntArray) -> FloatArray:
        """(n, M) source indices -> (n, M) values."""
        return self.z[src, np.arange(self.z.shape[1])]

    def encoded(self, src: IntArray) -> FloatArray:
        """(n, M) source indices -> (n, d) encoded rows."""
        return self.e[src[:, self.group], np.arange(self.e.shape[1])]

    def nearest(self, j: int, value: FloatArray, low: float, high: float) -> tuple[FloatArray, IntArray]:
        """Per value, the training value of number ``j`` within [low, high] nearest to it, and its row
        (-1 where none lies in the range)."""
        values, rows = self.grid[j]
        lo, hi = np.searchsorted(values, low, "left"), np.searchsorted(values, high, "right")
        values, rows = values[lo:hi], rows[lo:hi]
        if len(values) == 0:
            return np.full(len(value), np.nan), np.full(len(value), -1)
        i = np.clip(np.searchsorted(values, value), 1, max(len(values) - 1, 1))
        left = np.clip(i - 1, 0, len(values) - 1)
        right = np.clip(i, 0, len(values) - 1)
        pick = np.where(np.abs(values[left] - value) <= np.abs(values[right] - value), left, right)
        return values[pick], rows[pick]
