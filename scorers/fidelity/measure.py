"""The one error figure: mean absolute error relative to the mean absolute full-data value."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# E|e| / sd(e) of a normal error: the mean absolute error a standard error amounts to
MAE_PER_SE = math.sqrt(2.0 / math.pi)


def rel_mae(values: FloatArray, reference: FloatArray) -> float:
    """mean |values - reference| / mean |reference| over rows, outputs and features (0 when both are 0)."""
    scale = float(np.mean(np.abs(reference)))
    err = float(np.mean(np.abs(np.asarray(values) - np.asarray(reference))))
    if scale == 0.0:
        return 0.0 if err == 0.0 else float("inf")
    return err / scale


def rel_mae_rows(values: FloatArray, reference: FloatArray) -> FloatArray:
    """Each row's share of ``rel_mae``: mean |values - reference| over the row's outputs and features,
    relative to the mean |reference| over every row (their mean is ``rel_mae``; 0 when both are 0)."""
    diff = np.abs(np.asarray(values) - np.asarray(reference)).reshape(len(values), -1).mean(axis=1)
    scale = float(np.mean(np.abs(reference)))
    if scale == 0.0:
        return np.where(diff == 0.0, 0.0, np.inf)
    return np.asarray(diff / scale, dtype=np.float64)


def with_reference_noise(error: float, uncertainty: float) -> float:
    """The error against the full data when ``error`` was measured against a sampled reference whose
    relative standard error is ``uncertainty``.

    The calibrated background is fitted to that same sample, so ``error`` does not see the sample's own
    distance to the full data (on 5,000 training rows: 0.02% stated, 1.6% against the full data); that
    distance is about ``MAE_PER_SE * uncertainty`` in the same units, and the two add as independent
    errors: sqrt(a^2 + b^2).
    """
    return math.hypot(error, MAE_PER_SE * uncertainty)
