"""The one error figure: mean absolute error relative to the mean absolute full-data value."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


def rel_mae(values: FloatArray, reference: FloatArray) -> float:
    """mean |values - reference| / mean |reference| over rows, outputs and features (0 when both are 0)."""
    scale = float(np.mean(np.abs(reference)))
    err = float(np.mean(np.abs(np.asarray(values) - np.asarray(reference))))
    if scale == 0.0:
        return 0.0 if err == 0.0 else float("inf")
    return err / scale
