"""Model performance of a cohort, and histograms binned on the server.

Classification metrics are one-vs-rest per class from the confusion matrix (rows: true class, columns:
predicted class): precision TP/(TP+FP), recall TP/(TP+FN), F1 their harmonic mean, false positive rate
FP/(FP+TN), false negative rate FN/(FN+TP); a ratio whose denominator is 0 is null.  Accuracy is the
share of labelled rows predicted right.  Regression: MAE, RMSE, R^2 (null for fewer than two rows or a
constant label) and the mean residual (label - prediction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from .table import finite_list

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def _ratio(num: float, den: float) -> float | None:
    return float(num / den) if den > 0 else None


def classification(pred: IntArray, truth: IntArray, classes: list[str]) -> dict[str, Any]:
    """Metrics of the rows whose label names a class (``truth >= 0``)."""
    k = len(classes)
    known = truth >= 0
    cm = np.bincount(truth[known] * k + pred[known], minlength=k * k).reshape(k, k)
    n = int(cm.sum())
    per_class = []
    for c, name in enumerate(classes):
        tp = int(cm[c, c])
        fp = int(cm[:, c].sum()) - tp
        fn = int(cm[c, :].sum()) - tp
        tn = n - tp - fp - fn
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        f1 = (
            2 * precision * recall / (precision + recall)
            if precision is not None and recall is not None and precision + recall > 0
            else (0.0 if precision is not None and recall is not None else None)
        )
        per_class.append(
            {
                "class": name,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "fpr": _ratio(fp, fp + tn),
                "fnr": _ratio(fn, fn + tp),
                "support": tp + fn,
                "predicted": tp + fp,
            }
        )
    return {
        "labelled": n,
        "accuracy": _ratio(float(np.trace(cm)), n),
        "per_class": per_class,
        "confusion": cm.tolist(),
    }


def regression(pred: FloatArray, truth: FloatArray) -> dict[str, Any]:
    known = np.isfinite(truth) & np.isfinite(pred)
    y, p = truth[known], pred[known]
    n = int(y.size)
    if n == 0:
        return {"labelled": 0, "mae": None, "rmse": None, "r2": None, "mean_residual": None}
    resid = y - p
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "labelled": n,
        "mae": float(np.mean(np.abs(resid))),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "r2": 1.0 - float(np.sum(resid**2)) / ss_tot if n >= 2 and ss_tot > 0 else None,
        "mean_residual": float(np.mean(resid)),
    }


def edges(values: FloatArray, bins: int) -> FloatArray:
    """``bins`` equal-width bins over the finite values (one unit-wide bin for a constant)."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:
        return np.array([lo - 0.5, hi + 0.5])
    return np.linspace(lo, hi, bins + 1)


def bin_index(values: FloatArray, bin_edges: FloatArray) -> IntArray:
    """Each value's bin as ``np.histogram`` counts it (``[e_i, e_i+1)``, the last bin closed): 0..B-1;
    B for a value that is not finite; -1 for a finite value outside the edges (counted nowhere).  One
    pass over the rows, where ``np.histogram`` with explicit edges sorts them."""
    b = len(bin_edges) - 1
    idx = np.searchsorted(bin_edges, values, side="right").astype(np.int64) - 1
    idx[values == bin_edges[-1]] = b - 1
    idx[(idx >= b) | (idx < 0)] = -1
    idx[~np.isfinite(values)] = b
    return idx


def grouped_counts(groups: IntArray, cells: IntArray, n_groups: int, n_cells: int) -> list[list[int]]:
    """Counts per (group, cell) as lists (G, C); rows whose group or cell is negative are not counted."""
    keep = (groups >= 0) & (cells >= 0)
    flat = np.bincount(groups[keep] * n_cells + cells[keep], minlength=n_groups * n_cells)
    return flat.reshape(n_groups, n_cells).astype(int).tolist()


def counts(values: FloatArray, bin_edges: FloatArray) -> list[int]:
    """Counts of the finite values per bin (``np.histogram``'s)."""
    return cell_counts(bin_index(values, bin_edges), len(bin_edges) - 1)


def cell_counts(cells: npt.NDArray[np.integer[Any]], n_bins: int) -> list[int]:
    """Counts per bin of ``bin_index`` cells (missing and out-of-range values not counted)."""
    kept = cells[(cells >= 0) & (cells < n_bins)]
    return np.bincount(kept, minlength=n_bins).astype(int).tolist()


def category_counts(codes: IntArray, n_categories: int) -> list[int]:
    """Counts per category, then one for missing values."""
    known = codes >= 0
    out = np.bincount(codes[known], minlength=n_categories).astype(int).tolist()
    return [*out, int(np.count_nonzero(~known))]


def edges_json(bin_edges: FloatArray) -> list[float | None]:
    return finite_list(bin_edges)
