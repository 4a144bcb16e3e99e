"""The rows a dashboard shows, held as columns: features, prediction, probabilities, label, error.

Every column is a numpy array over all rows of the data set, so that a cohort is one boolean mask and
every view (metrics, histograms, samples) is vectorised over 100,000 rows.  Numbers are float64 with
NaN for a missing value; categories are int64 codes into ``categories`` with -1 for a missing value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

NUMBER = "number"
CATEGORY = "category"
# ids of the columns that are not features (a feature of the same name wins)
PREDICTION = "@prediction"
LABEL = "@label"
ERROR = "@error"
RESIDUAL = "@residual"
PROBA = "@proba:"
SHAP = "@shap:"
CORRECT, WRONG = "correct", "wrong"
MISSING_LABEL = "(missing)"

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass
class Column:
    """One field of the data set: a feature, or what the model or the labels say about a row."""

    id: str
    label: str
    group: str  # feature | prediction | probability | label | error | shap
    kind: str  # number | category
    values: npt.NDArray[Any]
    categories: list[str] | None = None
    _described: dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def describe(self) -> dict[str, Any]:
        """Id, label, kind and the range (numbers) or categories, with the missing count: computed once
        (the values never change), since every summary describes every column."""
        if self._described is None:
            self._described = self._describe()
        return dict(self._described)

    def _describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "label": self.label, "group": self.group, "kind": self.kind}
        if self.kind == CATEGORY:
            out["categories"] = self.categories
            out["missing"] = int(np.count_nonzero(self.values < 0))
        else:
            finite = np.isfinite(self.values)
            n_finite = int(np.count_nonzero(finite))
            kept = self.values if n_finite == self.values.size else self.values[finite]  # no copy when full
            out["min"] = float(kept.min()) if n_finite else None
            out["max"] = float(kept.max()) if n_finite else None
            out["missing"] = int(self.values.size - n_finite)
        return out

    def display(self, rows: IntArray) -> list[Any]:
        """JSON values of some rows: numbers (null when missing) or category names (null when missing)."""
        taken = self.values[rows]
        if self.kind == CATEGORY:
            cats = self.categories or []
            return [cats[c] if c >= 0 else None for c in taken.tolist()]
        return finite_list(taken)

    def missing(self) -> npt.NDArray[np.bool_]:
        return self.values < 0 if self.kind == CATEGORY else ~np.isfinite(self.values)


def finite_list(values: npt.NDArray[Any]) -> list[float | None]:
    """A float array as JSON numbers, NaN and infinities as null (JSON has no NaN)."""
    return [v if math.isfinite(v) else None for v in np.asarray(values, dtype=np.float64).tolist()]


def category_codes(values: Any, categories: list[str] | None = None) -> tuple[IntArray, list[str]]:
    """Codes into ``categories`` (extended by any value not in it, sorted), -1 for a missing value."""
    series = pd.Series(values, dtype=object)
    present = series.notna()
    seen = sorted({str(v) for v in series[present]})
    cats = list(categories or [])
    cats += [c for c in seen if c not in set(cats)]
    index = {c: i for i, c in enumerate(cats)}
    codes = np.full(len(series), -1, dtype=np.int64)
    codes[present.to_numpy()] = [index[str(v)] for v in series[present]]
    return codes, cats


def label_codes(labels: Any, classes: list[Any], aliases: list[Any] | None = None) -> IntArray:
    """Class indices of labels (the class names, or the model's own labels by position); -1 when a
    label is missing or names no class."""
    index = {str(c): i for i, c in enumerate(classes)}
    for i, own in enumerate(aliases or []):
        index.setdefault(str(own), i)
    # one lookup per distinct label, not per row (a million rows hold a few labels)
    codes, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=True)
    lookup = np.array([index.get(str(v), -1) for v in uniques.tolist()] + [-1], dtype=np.int64)
    return lookup[codes]


def feature_columns(frame: pd.DataFrame, schema_features: list[Any]) -> dict[str, Column]:
    """One column per raw feature of validated rows (numbers float64, categories as codes)."""
    cols: dict[str, Column] = {}
    for f in schema_features:
        if f.dtype == CATEGORY:
            codes, cats = category_codes(frame[f.name].to_numpy(), list(f.categories))
            cols[f.name] = Column(f.name, f.name, "feature", CATEGORY, codes, cats)
        else:
            values = frame[f.name].to_numpy(dtype=np.float64, na_value=np.nan)
            cols[f.name] = Column(f.name, f.name, "feature", NUMBER, values)
    return cols


def outcome_columns(
    classes: list[str] | None,
    pred: npt.NDArray[Any],
    proba: FloatArray | None,
    truth: npt.NDArray[Any] | None,
) -> dict[str, Column]:
    """Prediction, probabilities, true label and error.

    Classifiers: ``pred`` and ``truth`` are class indices (-1: no label); the error is ``correct`` or
    ``wrong``.  Regressors: numbers; the error is |prediction - label| and the residual label - prediction.
    """
    cols: dict[str, Column] = {}
    if classes is not None:
        cols[PREDICTION] = Column(PREDICTION, "Prediction", "prediction", CATEGORY, pred, classes)
        if proba is not None:
            for k, c in enumerate(classes):
                cid = PROBA + c
                cols[cid] = Column(cid, f"P({c})", "probability", NUMBER, proba[:, k])
        if truth is not None:
            cols[LABEL] = Column(LABEL, "True label", "label", CATEGORY, truth, classes)
            error = np.where(truth < 0, -1, (truth != pred).astype(np.int64))
            cols[ERROR] = Column(ERROR, "Error", "error", CATEGORY, error, [CORRECT, WRONG])
        return cols
    cols[PREDICTION] = Column(PREDICTION, "Prediction", "prediction", NUMBER, pred)
    if truth is not None:
        cols[LABEL] = Column(LABEL, "True label", "label", NUMBER, truth)
        cols[ERROR] = Column(ERROR, "Absolute error", "error", NUMBER, np.abs(pred - truth))
        cols[RESIDUAL] = Column(RESIDUAL, "Residual (label - prediction)", "error", NUMBER, truth - pred)
    return cols
