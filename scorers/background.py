"""Summarising the background: a weighted set of rows the explanation is taken against.

``kmeans``: k-means on standardised encoded columns, weighted by cluster size; in identity mode the
centroids are used with each coordinate snapped to the nearest observed value (as shap.kmeans does, so
integer features stay integral); otherwise the medoid (the real row nearest each centroid) stands for
its cluster, so categorical values stay valid.  ``sample``: a uniform random sample, equal weights.
``all``: every row.  All choices are deterministic for a given seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class Background:
    raw: pd.DataFrame  # summarising rows in the raw schema
    encoded: np.ndarray  # the same rows encoded for masking
    weights: np.ndarray  # sums to 1
    method: str
    source_rows: int


def _numeric_view(frame: pd.DataFrame, encoded: np.ndarray) -> np.ndarray:
    if encoded.dtype != object:
        z = encoded.astype(np.float64)
    else:
        z = pd.get_dummies(frame, dummy_na=True).to_numpy(dtype=np.float64)
    z = np.where(np.isnan(z), np.nanmean(z, axis=0, keepdims=True), z)
    z = np.nan_to_num(z)
    scale = z.std(axis=0)
    return (z - z.mean(axis=0)) / np.where(scale > 0, scale, 1.0)


def summarize(
    frame: pd.DataFrame, encoded: np.ndarray, size: int, method: str, snap_centroids: bool, seed: int = 0
) -> Background:
    n = len(frame)
    if method == "all" or n <= size:
        return Background(frame.reset_index(drop=True), encoded, np.full(n, 1.0 / n), "all", n)
    rng = np.random.default_rng(seed)
    if method == "sample":
        idx = np.sort(rng.choice(n, size=size, replace=False))
        return Background(
            frame.iloc[idx].reset_index(drop=True), encoded[idx], np.full(size, 1.0 / size), "sample", n
        )
    if method != "kmeans":
        raise ValueError(f"unknown background summary '{method}'; expected kmeans, sample or all")
    from sklearn.cluster import KMeans

    z = _numeric_view(frame, encoded)
    km = KMeans(n_clusters=size, n_init=4, random_state=seed).fit(z)
    counts = np.bincount(km.labels_, minlength=size).astype(np.float64)
    weights = counts / counts.sum()
    if snap_centroids:
        x = encoded.astype(np.float64)
        cents = np.empty((size, x.shape[1]))
        for k in range(size):
            cents[k] = x[km.labels_ == k].mean(axis=0)
        for j in range(x.shape[1]):  # snap each coordinate to the nearest observed value
            col = np.unique(x[:, j])
            pos = np.clip(np.searchsorted(col, cents[:, j]), 1, len(col) - 1)
            left, right = col[pos - 1], col[pos]
            cents[:, j] = np.where(np.abs(cents[:, j] - left) <= np.abs(right - cents[:, j]), left, right)
        raw = pd.DataFrame(cents, columns=frame.columns)
        return Background(raw, cents, weights, "kmeans", n)
    medoids = np.array(
        [
            np.flatnonzero(km.labels_ == k)[
                np.argmin(((z[km.labels_ == k] - km.cluster_centers_[k]) ** 2).sum(1))
            ]
            for k in range(size)
        ]
    )
    return Background(
        frame.iloc[medoids].reset_index(drop=True), encoded[medoids], weights, "kmeans-medoids", n
    )
