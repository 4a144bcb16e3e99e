"""Fixed bins of several channels at once: one comparison against precomputed edges per request.

A channel is one feature's input, or one (class, feature) pair's SHAP values.  Each channel has up to
``B - 1`` increasing inner edges (padded with +inf), so a value's bin is the number of edges below it
(``numpy.searchsorted(edges, x, side="left")`` done for every channel in one vectorised comparison), and
bin ``B`` holds missing values.  Categories are coded as numbers first (their position among the
baseline's categories, unseen ones after them) and binned on half-integer edges, so inputs of both
types share this one path.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def quantile_edges(values: FloatArray, n_bins: int) -> FloatArray:
    """Inner edges of ``n_bins`` quantile bins of each column of ``values`` (n, C), padded with +inf:
    (C, n_bins - 1).  Tied quantiles collapse into one edge (a discrete feature gets fewer bins)."""
    c = values.shape[1]
    out = np.full((c, n_bins - 1), np.inf)
    qs = np.linspace(0, 1, n_bins + 1)[1:-1]
    for j in range(c):
        col = values[:, j][np.isfinite(values[:, j])]
        if col.size == 0:
            continue
        edges = np.unique(np.quantile(col, qs))
        # an edge at the maximum would leave the top bin empty at the baseline
        edges = edges[edges < col.max()]
        out[j, : edges.size] = edges
    return out


def bin_index(values: FloatArray, edges: FloatArray) -> IntArray:
    """The bin of every value: (n, C) values and (C, B - 1) edges -> (n, C) bins in 0..B (B: missing)."""
    idx = (values[:, :, None] > edges[None, :, :]).sum(axis=2)
    return np.where(np.isnan(values), edges.shape[1] + 1, idx).astype(np.int64)


def counts(bins: IntArray, n_bins: int) -> IntArray:
    """Bin counts of each channel: (n, C) bins -> (C, n_bins + 1) counts (the last column: missing)."""
    c = bins.shape[1]
    flat = bins + (n_bins + 1) * np.arange(c)[None, :]
    return np.bincount(flat.ravel(), minlength=c * (n_bins + 1)).reshape(c, n_bins + 1).astype(np.int64)
