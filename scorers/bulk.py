"""Predictions of a whole table (the dashboard's evaluation rows, up to 100,000 and more).

``predict_table`` answers what ``predict_frame`` and ``predict_proba_frame`` answer, row for row, in
chunks.  Where a verified fast path exists it is used instead of the model's own loop:

- a binary RBF ``SVC(probability=True)`` on numeric rows: libsvm predicts one row and one support
  vector at a time (1.6 s for ``predict`` and 1.7 s for ``predict_proba`` on 100,000 rows x 30 features
  with 272 support vectors here), while the decision values of the whole table are one GEMM
  (``runtimes.fastpaths.RbfSvcProba``, libsvm's probability steps reproduced).  The labels are the sign
  of the decision value (libsvm's vote for two classes); a row within ``BOUNDARY`` of 0, where rounding
  could flip the sign, is asked of the model.  Before the table is computed, its first ``CHECK_ROWS``
  rows are predicted both ways: the labels must be equal and the probabilities within ``PARITY``,
  otherwise the model predicts everything.

``stored_or_predicted`` uses predictions computed earlier (at packaging, ``scorers.evaluation``) when the
model answers the same on their first ``CHECK_ROWS`` rows (a model that predicts differently where it is
served, say under another library version, is asked again for every row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .runtimes import CLASSIFIER
from .runtimes.fastpaths import RbfSvcProba

if TYPE_CHECKING:
    from .explainer import ScoringExplainer

CHUNK = 20_000
CHECK_ROWS = 256
BOUNDARY = 1e-6  # |decision value| below which the model itself labels the row
PARITY = 1e-9  # largest difference to the model's predict_proba on the checked rows


@dataclass(frozen=True)
class TablePredictions:
    """A table's predictions and where they come from: ``stored`` (at packaging, checked), ``computed``
    (none were stored) or ``recomputed`` (stored ones differed from the model on the checked rows)."""

    labels: np.ndarray
    proba: np.ndarray | None
    source: str


def stored_or_predicted(
    explainer: ScoringExplainer, frame: pd.DataFrame, stored: tuple[np.ndarray, np.ndarray | None] | None
) -> TablePredictions:
    """The stored predictions of ``frame`` when the model agrees with them on the first rows, otherwise
    ``predict_table``."""
    if stored is not None and len(stored[0]) == len(frame):
        k = min(len(frame), CHECK_ROWS)
        if matches_model(
            explainer, frame.iloc[:k], stored[0][:k], None if stored[1] is None else stored[1][:k]
        ):
            return TablePredictions(stored[0], stored[1], "stored")
    labels, proba = predict_table(explainer, frame)
    return TablePredictions(labels, proba, "computed" if stored is None else "recomputed")


def matches_model(
    explainer: ScoringExplainer, head: pd.DataFrame, labels: np.ndarray, proba: np.ndarray | None
) -> bool:
    """Whether the model answers ``labels`` (and ``proba`` within ``PARITY``) for the rows ``head``."""
    own = np.asarray(explainer.predict_frame(head))
    if explainer.task != CLASSIFIER:
        return np.allclose(
            own.astype(np.float64), np.asarray(labels, dtype=np.float64), rtol=1e-9, atol=PARITY
        )
    if not np.array_equal(own.astype(object), np.asarray(labels, dtype=object)):
        return False
    if proba is None:
        return True
    return bool(np.max(np.abs(explainer.predict_proba_frame(head) - proba), initial=0.0) <= PARITY)


def predict_table(explainer: ScoringExplainer, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
    """(labels or values as ``predict_frame`` gives them, probabilities or None) of validated rows."""
    fast = _fast_svc(explainer, frame)
    if fast is not None:
        return explainer.named(fast[0]), fast[1]
    chunks = [frame.iloc[i : i + CHUNK] for i in range(0, len(frame), CHUNK)] or [frame]
    labels = np.concatenate([np.asarray(explainer.predict_frame(c), dtype=object) for c in chunks])
    if explainer.task != CLASSIFIER:
        return labels, None
    proba = np.concatenate([explainer.predict_proba_frame(c) for c in chunks]).astype(np.float64)
    return labels, proba


def _fast_svc(explainer: ScoringExplainer, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    runtime = explainer.runtime
    model = getattr(runtime, "model", None)
    if runtime.name != "sklearn" or not RbfSvcProba.applies(model) or len(frame) == 0:
        return None
    if not runtime.schema.numeric_only:
        return None
    names = getattr(model, "feature_names_in_", None)
    if names is not None and list(names) != [str(c) for c in frame.columns]:
        return None
    x = frame.to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        return None
    fast = RbfSvcProba(model)
    classes = np.asarray(runtime.classes, dtype=object)
    # the check first, on the first rows: a table the fast path does not match is not computed twice
    k = min(len(frame), CHECK_ROWS)
    head = frame.iloc[:k]
    labels, proba = _svc_labels(fast, x[:k], classes, runtime, head)
    if not matches_model(explainer, head, explainer.named(labels), proba):
        return None
    return _svc_labels(fast, x, classes, runtime, frame)


def _svc_labels(
    fast: RbfSvcProba, x: np.ndarray, classes: np.ndarray, runtime: Any, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) from the decision values; rows near the boundary are labelled by the model."""
    d = fast.decision_function(x)
    labels = np.where(d >= 0, classes[1], classes[0]).astype(object)
    near = np.flatnonzero(np.abs(d) < BOUNDARY)
    if near.size:
        labels[near] = np.asarray(runtime.predict(frame.iloc[near]), dtype=object)
    return labels, fast.proba_from_decision(d)
