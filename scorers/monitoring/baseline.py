"""The monitoring baseline: what the inputs and the explanations looked like at packaging.

Built from the evaluation rows (``scorers.evaluate``) or, when there are none, from the training rows
of the fit-time checks, and stored in the artifact as ``monitoring.npz`` (plain arrays, loaded with
``allow_pickle=False``; listed in the manifest with its sha256).  Per feature: the bins of its input
(quantile bins for numbers, the most frequent categories for categories) with the baseline's counts;
per (class, feature): the quantile bins of its SHAP values with their counts; and the global ranking,
mean |SHAP| per (class, feature).  The live sketches (``sketch.py``) count served rows in these bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..input_schema import CATEGORY, Schema
from ..manifest import MonitoringSection
from .binning import FloatArray, IntArray, bin_index, counts, quantile_edges

if TYPE_CHECKING:
    from ..scoring_explainer import ScoringExplainer

FILE = "monitoring.npz"
QUANTILE_BINS = 10
MAX_CATEGORIES = 30  # the most frequent ones get a bin each; the others share the "other" bin
MAX_ROWS = 1000  # evaluation rows explained for the baseline (a seeded sample beyond)


@dataclass
class Baseline:
    """Bins and baseline counts.  M features, K outputs (classes; 1 for regressors), B bins."""

    features: list[str]
    classes: list[str] | None
    categories: dict[int, list[str]]  # feature position -> the categories with a bin of their own
    input_edges: FloatArray  # (M, B - 1), +inf padded
    input_counts: IntArray  # (M, B + 1), the last column: missing values
    attr_edges: FloatArray  # (K * M, B - 1), channel k * M + j: class k, feature j
    attr_counts: IntArray  # (K * M, B + 1)
    mean_abs: FloatArray  # (K, M) mean |SHAP|: the global ranking
    rows: int
    source: str  # "evaluation" or "training"

    @property
    def n_bins(self) -> int:
        return int(self.input_edges.shape[1] + 1)

    def code_inputs(self, frame: pd.DataFrame) -> FloatArray:
        """The rows as numbers (n, M): categories as their position (unseen or rare: after the known
        ones; missing: NaN).  The one place request rows leave pandas, as one array."""
        if not self.categories:
            return frame.to_numpy(dtype=np.float64)
        table = frame.to_numpy()
        out = np.empty(table.shape, dtype=np.float64)
        for j in range(table.shape[1]):
            cats = self.categories.get(j)
            if cats is None:
                out[:, j] = table[:, j]
            else:
                out[:, j] = [_code(v, cats) for v in table[:, j]]
        return out

    def decode_inputs(self, coded: FloatArray) -> pd.DataFrame:
        """``code_inputs`` undone as far as it can be: numbers as they were, categories by name; a
        category without a bin of its own (rare or unseen) and a missing value come back missing."""
        frame = pd.DataFrame(coded, columns=self.features)
        for j, cats in self.categories.items():
            names = np.asarray([*cats, None], dtype=object)
            col = coded[:, j]
            idx = np.where(np.isnan(col), len(cats), np.clip(np.nan_to_num(col), 0, len(cats))).astype(
                np.int64
            )
            frame[self.features[j]] = names[idx]
        return frame

    def save(self, directory: Path) -> None:
        flat = [(j, c) for j, cats in sorted(self.categories.items()) for c in cats]
        np.savez(
            directory / FILE,
            features=np.asarray(self.features, dtype=str),
            classes=np.asarray(self.classes if self.classes is not None else [], dtype=str),
            has_classes=np.asarray(self.classes is not None),
            category_feature=np.asarray([j for j, _ in flat], dtype=np.int64),
            category_name=np.asarray([c for _, c in flat], dtype=str),
            input_edges=self.input_edges,
            input_counts=self.input_counts,
            attr_edges=self.attr_edges,
            attr_counts=self.attr_counts,
            mean_abs=self.mean_abs,
            rows=np.asarray(self.rows),
            source=np.asarray(self.source),
        )


def _code(value: Any, cats: list[str]) -> float:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    try:
        return float(cats.index(str(value)))
    except ValueError:
        return float(len(cats))


def load(path: Path) -> Baseline:
    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    categories: dict[int, list[str]] = {}
    for j, name in zip(a["category_feature"].tolist(), a["category_name"].tolist(), strict=True):
        categories.setdefault(int(j), []).append(str(name))
    return Baseline(
        [str(f) for f in a["features"]],
        [str(c) for c in a["classes"]] if bool(a["has_classes"]) else None,
        categories,
        a["input_edges"],
        a["input_counts"],
        a["attr_edges"],
        a["attr_counts"],
        a["mean_abs"],
        int(a["rows"]),
        str(a["source"]),
    )


def build(
    schema: Schema, frame: pd.DataFrame, values: FloatArray, classes: list[Any] | None, source: str
) -> Baseline:
    """The baseline of rows ``frame`` (n rows, raw schema) and their SHAP values ``values`` (n, K, M)."""
    n, k, m = values.shape
    categories: dict[int, list[str]] = {}
    for j, f in enumerate(schema.features):
        if f.dtype == CATEGORY:
            freq = frame[f.name].dropna().astype(str).value_counts()
            known = sorted(set(f.categories) | set(freq.index))
            ranked = sorted(known, key=lambda c: (-int(freq.get(c, 0)), c))
            categories[j] = ranked[:MAX_CATEGORIES]
    n_bins = max([QUANTILE_BINS, *(len(c) + 1 for c in categories.values())])
    base = Baseline(
        list(schema.names),
        None if classes is None else [str(c) for c in classes],
        categories,
        np.empty((m, 0)),
        np.empty((m, 0), dtype=np.int64),
        np.empty((0, 0)),
        np.empty((0, 0), dtype=np.int64),
        np.abs(values).mean(axis=0),
        n,
        source,
    )
    coded = base.code_inputs(frame)
    edges = quantile_edges(coded, n_bins)
    for j, cats in categories.items():
        edges[j] = np.inf
        edges[j, : len(cats)] = np.arange(len(cats)) + 0.5
    base.input_edges = edges
    base.input_counts = counts(bin_index(coded, edges), n_bins)
    flat = values.reshape(n, k * m)
    base.attr_edges = quantile_edges(flat, n_bins)
    base.attr_counts = counts(bin_index(flat, base.attr_edges), n_bins)
    return base


def of_rows(explainer: ScoringExplainer, frame: pd.DataFrame, source: str, seed: int = 0) -> Baseline:
    """Explain ``frame`` (validated rows; a seeded sample of ``MAX_ROWS`` beyond) and build its baseline."""
    if len(frame) > MAX_ROWS:
        picked = np.sort(np.random.default_rng(seed).permutation(len(frame))[:MAX_ROWS])
        frame = frame.iloc[picked].reset_index(drop=True)
    values = explainer.explain_frame(frame).values
    return build(explainer.schema, frame, values, explainer.classes, source)


def section(base: Baseline) -> MonitoringSection:
    return MonitoringSection(file=FILE, source=base.source, rows=base.rows, bins=base.n_bins)  # type: ignore[arg-type]
