"""Predictions of a whole table (the dashboard's evaluation rows, up to 100,000 and more).

``predict_table`` answers what ``predict_frame`` and ``predict_proba_frame`` answer, row for row, in
chunks.  Where a verified fast path exists it is used instead of the model's own loop:

- a binary RBF ``SVC(probability=True)`` on numeric rows: libsvm predicts one row and one support
  vector at a time (1.6 s for ``predict`` and 1.7 s for ``predict_proba`` on 100,000 rows x 30 features
  with 272 support vectors here), while the decision values of the whole table are one GEMM
  (``runtimes.fastpaths.RbfSvcProba``, libsvm's probability steps reproduced).  The labels are the sign
  of the decision value (libsvm's vote for two classes); a row within ``BOUNDARY`` of 0, where rounding
  could flip the sign, is asked of the model.  Before the table is computed, the fast path is compared with the model on the checked rows
  (``check_rows``): the labels must be equal and the probabilities within ``PARITY``, otherwise the
  model predicts everything.

``stored_or_predicted`` uses predictions computed earlier (at packaging, ``scorers.evaluation``) when they
were made with the library versions serving now (``prediction_versions``; artifacts that did not record
them skip this) and the model answers the same on the checked rows.  Otherwise the model is asked again
for every row: a model that predicts differently where it is served, say under another library version.

The checked rows (``check_rows``) are spread over the whole table, not its head: a table sorted by a
feature, or a category that first appears after row 256, agrees on its first rows and not later.  They
are one seeded draw in each of ``CHECK_ROWS`` equal strata of positions, the last ``TAIL_ROWS`` rows,
and the first row of each category value, missing value and stored label (rarest first, at most
``RARE_ROWS``).  A single changed row elsewhere is not looked for: the stored file's sha256 guards it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .runtimes import CLASSIFIER
from .runtimes.fastpaths import RbfSvcProba

if TYPE_CHECKING:
    from .scoring_explainer import ScoringExplainer

CHUNK = 20_000
CHECK_ROWS = 256  # strata of positions, one row drawn in each
TAIL_ROWS = 16  # the last rows, always checked
RARE_ROWS = 256  # at most this many first rows of a category value, missing value or label
CHECK_SEED = 0
# the libraries whose versions decide what a model predicts (with the model's own distribution)
PREDICTING = ("shapserve", "numpy", "scipy", "pandas", "scikit-learn", "onnxruntime", "xgboost", "lightgbm")
_KNOWN_MODULES = {"sklearn": "scikit-learn"}  # modules whose distribution has another name
BOUNDARY = 1e-6  # |decision value| below which the model itself labels the row
PARITY = 1e-9  # largest difference to the model's predict_proba on the checked rows


@dataclass(frozen=True)
class TablePredictions:
    """A table's predictions and where they come from: ``stored`` (at packaging, checked), ``computed``
    (none were stored) or ``recomputed`` (stored ones came from other library versions, or differed from
    the model on the checked rows)."""

    labels: np.ndarray
    proba: np.ndarray | None
    source: str
    codes: np.ndarray | None = None  # a classifier's labels as positions in its classes, when stored so


@dataclass(frozen=True)
class StoredPredictions:
    """Predictions stored at packaging, and the library versions they were made with (None: not
    recorded, an artifact written before they were)."""

    labels: np.ndarray
    proba: np.ndarray | None
    versions: dict[str, str] | None = None
    codes: np.ndarray | None = None  # a classifier's labels as positions in its classes (the stored form)


def stored_or_predicted(
    explainer: ScoringExplainer, frame: pd.DataFrame, stored: StoredPredictions | None
) -> TablePredictions:
    """The stored predictions of ``frame`` when they were made with the serving library versions and the
    model agrees with them on the checked rows, otherwise ``predict_table``."""
    if stored is not None:
        rows = check_rows(frame, stored.labels if explainer.task == CLASSIFIER else None)
        found = checked_stored(explainer, stored, len(frame), rows, lambda: frame.iloc[rows])
        if found is not None:
            return found
    labels, proba = predict_table(explainer, frame)
    return TablePredictions(labels, proba, "computed" if stored is None else "recomputed")


def checked_stored(
    explainer: ScoringExplainer,
    stored: StoredPredictions,
    n_rows: int,
    rows: np.ndarray,
    head: Callable[[], pd.DataFrame],
) -> TablePredictions | None:
    """The stored predictions of a table of ``n_rows`` when they were made with the serving library
    versions and the model agrees on ``rows`` (the checked rows, ``check_rows``; ``head()`` builds them),
    else None."""
    if len(stored.labels) != n_rows:
        return None
    if stored.versions is not None and not same_versions(stored.versions, prediction_versions(explainer)):
        return None
    proba = None if stored.proba is None else stored.proba[rows]
    if not matches_model(explainer, head(), stored.labels[rows], proba):
        return None
    return TablePredictions(stored.labels, stored.proba, "stored", stored.codes)


def prediction_versions(explainer: ScoringExplainer) -> dict[str, str]:
    """Python's and the installed versions of ``PREDICTING`` and of the model's own distribution."""
    model = getattr(explainer.runtime, "model", None)
    top = type(model).__module__.split(".")[0]
    return {"python": platform.python_version(), **_installed(top)}


@functools.cache
def _installed(top_module: str) -> dict[str, str]:
    names = [*PREDICTING, *_distributions(top_module)]
    out = {}
    for name in dict.fromkeys(names):
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def _distributions(top_module: str) -> list[str]:
    """The distributions that provide a module: its own name when a distribution has it (lightgbm,
    xgboost), else from the index of every installed distribution's files (seconds on a large
    environment: a dashboard's first paint waited for it)."""
    if top_module in sys.stdlib_module_names:  # no model object (an ONNX runtime): builtins
        return []
    if top_module in _KNOWN_MODULES:
        return [_KNOWN_MODULES[top_module]]
    try:
        importlib.metadata.distribution(top_module)
    except importlib.metadata.PackageNotFoundError:
        return importlib.metadata.packages_distributions().get(top_module, [])
    return [top_module]


def same_versions(stored: dict[str, str], serving: dict[str, str]) -> bool:
    """Whether every library recorded with the stored predictions is at the same version now."""
    return all(serving.get(name) == version for name, version in stored.items())


def check_rows(frame: pd.DataFrame, labels: np.ndarray | None = None) -> np.ndarray:
    """Sorted positions of the rows a stored or fast result is checked on (see the module's text)."""
    n = len(frame)
    if n <= CHECK_ROWS + TAIL_ROWS:
        return np.arange(n)
    edges = np.linspace(0, n - TAIL_ROWS, CHECK_ROWS + 1).astype(np.int64)
    offsets = np.random.default_rng(CHECK_SEED).random(CHECK_ROWS) * np.diff(edges)
    spread = edges[:-1] + offsets.astype(np.int64)
    tail = np.arange(n - TAIL_ROWS, n)
    return np.unique(np.concatenate([spread, tail, _first_rows(frame, labels)]))


def _first_rows(frame: pd.DataFrame, labels: np.ndarray | None) -> np.ndarray:
    """The first row of each category value, of a missing value in each column, and of each label: the
    ``RARE_ROWS`` rarest of them."""
    columns = [frame[c] for c in frame.columns]
    if labels is not None:
        columns.append(pd.Series(labels, dtype=object))
    counts, firsts = [], []
    for col in columns:
        if not pd.api.types.is_numeric_dtype(col):  # categories: object or string columns
            codes, _ = pd.factorize(col, use_na_sentinel=False)
        elif col.isna().any():
            codes = col.isna().to_numpy().astype(np.int64)  # a missing number: its first row
        else:
            continue
        _, first, count = np.unique(codes, return_index=True, return_counts=True)
        counts.append(count)
        firsts.append(first)
    if not firsts:
        return np.empty(0, dtype=np.int64)
    order = np.argsort(np.concatenate(counts), kind="stable")
    return np.concatenate(firsts)[order[:RARE_ROWS]]


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
    # the check first, on rows spread over the table: a table the fast path does not match is not
    # computed twice
    rows = check_rows(frame)
    head = frame.iloc[rows]
    labels, proba = _svc_labels(fast, x[rows], classes, runtime, head)
    if not matches_model(explainer, head, explainer.named(labels), proba):
        return None
    return _svc_labels(fast, x, classes, runtime, frame)


def _svc_labels(
    fast: RbfSvcProba, x: np.ndarray, classes: np.ndarray, runtime: Any, frame: pd.DataFrame
) -> tuple[np.ndarray, np.ndarray]:
    """(labels, probabilities) of rows ``x`` from their decision values: the labels as ``svc_labels``,
    libsvm's probabilities of them."""
    d = fast.decision_function(x)
    return svc_labels(d, classes, runtime, frame), fast.proba_from_decision(d)


def svc_labels(d: np.ndarray, classes: np.ndarray, runtime: Any, frame: pd.DataFrame) -> np.ndarray:
    """A binary SVC's labels of the rows ``frame`` from their decision values ``d``: by the sign (libsvm's
    vote for two classes), rows within ``BOUNDARY`` of 0 labelled by the model."""
    labels = np.where(d >= 0, classes[1], classes[0]).astype(object)
    near = np.flatnonzero(np.abs(d) < BOUNDARY)
    if near.size:
        labels[near] = np.asarray(runtime.predict(frame.iloc[near]), dtype=object)
    return labels
