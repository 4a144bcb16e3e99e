"""``ErrorEstimate``: per value and per row, the sampling part plus the stated background part.

Units are those of the values (the explanation's output space).  Per value, sigma is
``sqrt(se^2 + b^2)``: se the design's sampling standard error (0 for exact kinds), b the background part.
The manifest's stated relative error (``fidelity``: the larger of the training-row and held-out figures)
is measured on served values, so it holds the model's sampling error already: for this row it is a
standard deviation ``rel x mean |value of the row| x sqrt(pi/2)`` (a mean absolute error of a normal
error is sqrt(2/pi) of its standard deviation), and b is what of it the row's own sampling part (RMS of
se) does not explain, ``sqrt(max(0, stated^2 - sampling^2))``.  A kind whose standard error counts its
background sample too (``permutation``: ``sampling.SAMPLES_ITS_BACKGROUND``) has b = 0.  Per row, sigma is
the root mean square of the per-value sigmas; the row's true error is the root mean square of its
values' distances to the full-data values, and the stated 2-sigma band is meant to hold it for 9 rows
in 10 (docs/fidelity.md#error-bars has the measured coverage).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .sampling import SAMPLES_ITS_BACKGROUND, FloatArray

MAE_TO_SD = math.sqrt(math.pi / 2)


@dataclass(frozen=True)
class ErrorEstimate:
    """``values``: (n, K, M) per-value sigma; ``rows``: (n,) per-row sigma (RMS over K and M);
    ``sampling``, ``background``: (n,) the two parts per row (RMS), combined as sqrt(a^2 + b^2)."""

    values: FloatArray
    rows: FloatArray
    sampling: FloatArray
    background: FloatArray

    def to_json(self) -> dict[str, Any]:
        return {
            "rows": self.rows.tolist(),
            "sampling": self.sampling.tolist(),
            "background": self.background.tolist(),
            "values": self.values.tolist(),
        }

    def take(self, index: Any) -> ErrorEstimate:
        return ErrorEstimate(
            self.values[index], self.rows[index], self.sampling[index], self.background[index]
        )

    def arrays(self) -> dict[str, FloatArray]:
        """The four arrays by field name (``values``, ``rows``, ``sampling``, ``background``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @staticmethod
    def concat(parts: list[ErrorEstimate]) -> ErrorEstimate:
        """The estimate of consecutive slices of rows, in order (a row's estimate is its own)."""
        return ErrorEstimate(
            **{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(ErrorEstimate)}
        )


def background_rel_error(fidelity: Any, kind: str = "") -> float:
    """The stated relative error (manifest ``fidelity``), the larger of training and held-out rows; 0 if
    nothing was measured or the ``kind``'s standard error already counts its background."""
    if fidelity is None or kind in SAMPLES_ITS_BACKGROUND:
        return 0.0
    held = fidelity.holdout.rel_mae_vs_full_data if fidelity.holdout is not None else 0.0
    return float(max(fidelity.rel_mae_vs_full_data, held))


def _rms(a: FloatArray, n: int) -> FloatArray:
    return np.sqrt(np.mean(a.reshape(n, -1) ** 2, axis=1)) if a.size else np.zeros(n)


def combine(values: FloatArray, se: FloatArray, rel: float) -> ErrorEstimate:
    """The estimate of rows whose values (n, K, M) have sampling standard errors ``se`` (n, K, M)."""
    n = values.shape[0]
    scale = np.mean(np.abs(values.reshape(n, -1)), axis=1) if values.size else np.zeros(n)
    sampling = _rms(se, n)
    stated = rel * MAE_TO_SD * scale  # (n,): the stated error of this row, sampling included
    b = np.sqrt(np.maximum(stated**2 - sampling**2, 0.0))
    per_value = np.sqrt(se**2 + (b**2)[:, None, None])
    return ErrorEstimate(values=per_value, rows=_rms(per_value, n), sampling=sampling, background=b)
