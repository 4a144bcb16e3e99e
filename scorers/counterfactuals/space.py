"""The space counterfactuals are searched in: rows as one float matrix (numbers as they are, categories as
codes into the feature's categories, NaN for a missing value), the distance between rows, and the
plausible values of each feature (the training rows' ranges and the manifest's categories).

Distance is DiCE's: the L1 distance with each number divided by its median absolute deviation over the
training rows (their standard deviation, then 1, when that is zero) and 1 for each changed category; a
missing value against a present one counts 1.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from ..input_schema import NUMBER, Schema

FloatArray = np.ndarray


@dataclass(frozen=True)
class Space:
    names: list[str]
    numeric: np.ndarray  # (M,) bool
    categories: list[list[str]]  # per feature (empty for numbers), codes index into them
    scale: np.ndarray  # (M,) the divisor of each feature's change (1 for categories)
    low: np.ndarray  # (M,) plausible range of numbers (the training rows'); -inf/inf for categories
    high: np.ndarray
    integral: np.ndarray  # (M,) numbers whose training values are all whole: a changed value is rounded
    numeric_only: bool

    @property
    def width(self) -> int:
        return len(self.names)

    def encode(self, frame: pd.DataFrame) -> tuple[Space, FloatArray]:
        """(this space, with any category of the rows it does not know appended, the rows' matrix)."""
        if self.numeric_only:
            return self, frame[self.names].to_numpy(dtype=np.float64, na_value=np.nan)
        cats = [list(c) for c in self.categories]
        z = np.empty((len(frame), self.width), dtype=np.float64)
        for j, name in enumerate(self.names):
            col = frame[name]
            if self.numeric[j]:
                z[:, j] = col.to_numpy(dtype=np.float64, na_value=np.nan)
                continue
            index = {c: i for i, c in enumerate(cats[j])}
            for v in col.dropna().unique():
                if v not in index:  # an unseen category the model accepts: kept, never proposed
                    index[v] = len(cats[j])
                    cats[j].append(v)
            z[:, j] = [np.nan if pd.isna(v) else index[v] for v in col.tolist()]
        return replace(self, categories=cats), z

    def decode(self, z: FloatArray) -> pd.DataFrame:
        """Rows of the matrix as the model's DataFrame (what ``Schema.validate`` returns)."""
        if self.numeric_only:
            return pd.DataFrame(z, columns=self.names, copy=False)
        data: dict[str, np.ndarray] = {}
        for j, name in enumerate(self.names):
            if self.numeric[j]:
                data[name] = z[:, j]
            else:
                values = np.array([*self.categories[j], np.nan], dtype=object)
                codes = np.where(np.isnan(z[:, j]), len(self.categories[j]), z[:, j]).astype(np.int64)
                data[name] = values[codes]
        return pd.DataFrame(data, columns=self.names, copy=False)

    def deltas(self, x: FloatArray, z: FloatArray) -> FloatArray:
        """(n, M): each feature's scaled change from the row ``x`` (M,) to each row of ``z`` (n, M)."""
        gap = np.where(self.numeric, np.abs(z - x) / self.scale, (z != x).astype(np.float64))
        missing = np.isnan(z) | np.isnan(x)
        return np.where(missing, (np.isnan(z) != np.isnan(x)).astype(np.float64), gap)

    def distance(self, x: FloatArray, z: FloatArray) -> FloatArray:
        return self.deltas(x, z).sum(axis=1)


def build_space(schema: Schema, rows: pd.DataFrame, ranges: dict[str, list[float]] | None) -> Space:
    """The space of a model's features, scaled and bounded by training ``rows`` (``ranges``, from the
    manifest, bound the numbers instead when the artifact stores them)."""
    m = len(schema.names)
    numeric = np.array([f.dtype == NUMBER for f in schema.features])
    scale, low, high = np.ones(m), np.full(m, -np.inf), np.full(m, np.inf)
    integral = np.zeros(m, dtype=bool)
    for j, feat in enumerate(schema.features):
        if not numeric[j]:
            continue
        col = rows[feat.name].to_numpy(dtype=np.float64, na_value=np.nan)
        col = col[np.isfinite(col)]
        if col.size:
            mad = float(np.median(np.abs(col - np.median(col))))
            scale[j] = mad if mad > 0 else (float(col.std()) or 1.0)
            low[j], high[j] = float(col.min()), float(col.max())
            integral[j] = bool(np.all(col == np.round(col)))
        if ranges is not None and feat.name in ranges:
            low[j], high[j] = ranges[feat.name]
    return Space(
        names=list(schema.names),
        numeric=numeric,
        categories=[list(f.categories) for f in schema.features],
        scale=scale,
        low=low,
        high=high,
        integral=integral,
        numeric_only=bool(numeric.all()),
    )
