"""The data sets a dashboard can show, loaded once per worker and cached.

- ``eval``: the evaluation rows stored at packaging (``--eval-data``) with their labels;
- ``sample``: the training sample stored in the artifact (no labels), for models packaged without them;
- ``stored:<id>``: an explanation from the explanation store.  A local one brings its SHAP values,
  predictions and (when uploaded with them) true labels, but no feature values: the views that need
  feature values (what-if, ICE, dependence, feature filters) say so.  A global one is importance only.

Rows are predicted once, in full (predictions are cheap next to explanations; the evaluation rows'
predictions are stored at packaging and only checked here); the SHAP views use a random sample explained
in the background (``shap_sample``).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from scorers import eval_sample
from scorers.errors import InputError
from scorers.eval_columns import Category, EvalColumns
from scorers.eval_sample import fixed_order

from .shap_sample import ShapSample
from .table import (
    CATEGORY,
    NUMBER,
    SHAP,
    Column,
    feature_columns,
    label_codes,
    outcome_columns,
)

if TYPE_CHECKING:
    from ..core import ScoringService

EVAL = "eval"
SAMPLE = "sample"
STORED = "stored:"
STORED_CACHE = 4
RECOMPUTED = "the predictions stored at packaging differ from what the model answers here: every row was predicted again"


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


@dataclass
class GlobalOnly:
    """A stored global explanation: importance per class, no rows."""

    kind: str
    per_class: npt.NDArray[np.float64]  # (K, M)
    info: dict[str, Any]
    n_rows: int


@dataclass
class Dataset:
    """One data set as the dashboard sees it (see ``table`` for the columns' encoding)."""

    key: str
    title: str
    kind: str  # rows (feature values known) | local (a stored local explanation) | global
    n_rows: int
    features: list[str]
    classes: list[str] | None  # display names; None for regressors
    class_values: list[Any] | None  # the labels as /predict answers them
    columns: dict[str, Column]
    output_space: str
    fidelity: dict[str, Any] | None
    pred: npt.NDArray[Any]  # classifiers: class indices; regressors: numbers
    proba: npt.NDArray[np.float64] | None
    truth: npt.NDArray[Any] | None  # classifiers: class indices (-1: none); regressors: NaN for none
    rank: npt.NDArray[np.int64]  # a fixed random order: every sample takes the lowest ranks
    shap: ShapSample
    # validated raw rows (kind rows): some of them by position, and all of them (read only when asked)
    take_rows: Callable[[npt.NDArray[np.int64]], pd.DataFrame] | None = None
    all_rows: Callable[[], pd.DataFrame] | None = None
    stored: dict[str, Any] | None = None  # a stored local explanation's base values, outputs, error estimate
    global_only: GlobalOnly | None = None
    order: npt.NDArray[np.int64] | None = None  # the rows by rank (rank's inverse), when kept
    notes: list[str] = field(default_factory=list)
    # results computed on demand (live pfi / mimic per cohort), keyed by request
    cache: dict[str, Any] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_classifier(self) -> bool:
        return self.classes is not None

    @property
    def has_rows(self) -> bool:
        return self.kind == "rows"

    @property
    def has_labels(self) -> bool:
        return self.truth is not None

    @property
    def frame(self) -> pd.DataFrame | None:
        """Every validated row as one frame (kind rows); views take the rows they need (``take``)."""
        return self.all_rows() if self.all_rows is not None else None

    def take(self, ids: npt.NDArray[np.int64] | list[int]) -> pd.DataFrame:
        """Validated rows at ``ids``, index 0..k-1 (kind rows)."""
        assert self.take_rows is not None
        return self.take_rows(np.asarray(ids, dtype=np.int64))

    def column(self, field_id: str, where: str) -> Column:
        col = self.columns.get(field_id)
        if col is None:
            known = list(self.columns)
            raise InputError(
                f"unknown field {field_id!r}; this data set has {known[:40]}"
                + (" ..." if len(known) > 40 else ""),
                field=where,
            )
        return col

    def feature_index(self, name: str, where: str) -> int:
        if name not in self.features:
            raise InputError(f"unknown feature {name!r}; expected one of {self.features[:40]}", field=where)
        return self.features.index(name)

    def class_index(self, name: Any, where: str = "class") -> int:
        """The output a class name selects (0 for regressors; default: the positive class of two)."""
        if self.classes is None:
            if name is not None:  # not silently ignored: the request meant something this data set lacks
                raise InputError(f"a regressor has no classes; leave {where} out, got {name!r}", field=where)
            return 0
        if name is None:
            return 1 if len(self.classes) == 2 else 0
        if str(name) not in self.classes:
            raise InputError(f"unknown class {name!r}; expected one of {self.classes}", field=where)
        return self.classes.index(str(name))


def _fidelity(core: ScoringService) -> dict[str, Any] | None:
    fid = core.manifest.fidelity
    return fid.model_dump() if fid is not None else None


def rows_dataset(core: ScoringService, key: str, shap_rows: int) -> Dataset:
    """The evaluation rows or the training sample, predicted in full."""
    explainer = core.explainer
    mapped = explainer.evaluation.columns() if key == EVAL and explainer.evaluation is not None else None
    if mapped is not None:
        return columns_dataset(core, mapped, shap_rows)
    if key == EVAL:
        data = explainer.eval_data
        if data is None:
            raise InputError(
                "this model was packaged without evaluation rows (shapserve package --eval-data); "
                "use source 'sample'",
                field="source",
            )
        frame, labels = data
        title = f"Evaluation rows ({len(frame):,})"
        table = explainer.eval_predictions()  # stored at packaging and checked, or predicted now
        assert table is not None
        predicted, proba = table.labels, table.proba
        notes = [RECOMPUTED] if table.source == "recomputed" else []
    else:
        if explainer.sample is None or len(explainer.sample) == 0:
            raise InputError("this artifact stores no training sample", field="source")
        frame, labels = explainer.validate(explainer.sample), None
        title = f"Training sample ({len(frame):,}, no labels)"
        predicted, proba = explainer.predict_table(frame)  # in chunks, or a verified fast path (scorers.bulk)
        notes = []
    frame = frame.reset_index(drop=True)
    classes = None if explainer.classes is None else [str(_plain(c)) for c in explainer.classes]
    truth: npt.NDArray[Any] | None = None
    if classes is not None:
        pred: npt.NDArray[Any] = label_codes(predicted, classes)
        if labels is not None:
            truth = label_codes(labels, classes, core.manifest.model.labels)
            unknown = int(np.count_nonzero(truth < 0))
            if unknown:
                notes.append(f"{unknown} rows have no label or one that names no class: left out of metrics")
    else:
        pred = predicted.astype(np.float64)
        if labels is not None:
            truth = pd.to_numeric(pd.Series(labels), errors="coerce").to_numpy(dtype=np.float64)
    columns = feature_columns(frame, explainer.schema.features)
    return rows_from_columns(
        core,
        key,
        title,
        columns,
        (pred, proba, truth),
        lambda ids: frame.iloc[ids].reset_index(drop=True),
        lambda: frame,
        shap_rows,
        notes,
    )


def columns_dataset(core: ScoringService, mapped: EvalColumns, shap_rows: int) -> Dataset:
    """The evaluation rows from their memory-mapped columns (``scorers.eval_columns``): no Parquet read,
    no pandas frame; the columns are views of the mapped files."""
    explainer = core.explainer
    ev = explainer.evaluation
    assert ev is not None
    table = explainer.eval_predictions()  # stored at packaging and checked on the packaged check rows
    assert table is not None
    notes = [RECOMPUTED] if table.source == "recomputed" else []
    classes = None if explainer.classes is None else [str(_plain(c)) for c in explainer.classes]
    truth: npt.NDArray[Any] | None = None
    if classes is not None:  # the stored class positions as they are, else the labels' positions
        pred: npt.NDArray[Any] = (
            table.codes if table.codes is not None else label_codes(table.labels, classes)
        )
        if isinstance(mapped.labels, Category):  # one lookup per label value, then the codes
            lookup = label_codes(mapped.labels.values, classes, core.manifest.model.labels)
            truth = np.append(lookup, -1)[mapped.labels.codes]
        elif mapped.labels is not None:
            truth = label_codes(mapped.labels, classes, core.manifest.model.labels)
        if truth is not None:
            unknown = int(np.count_nonzero(truth < 0))
            if unknown:
                notes.append(f"{unknown} rows have no label or one that names no class: left out of metrics")
    else:
        pred = table.labels.astype(np.float64)
        if isinstance(mapped.labels, Category):
            values = pd.to_numeric(pd.Series(mapped.labels.values, dtype=object), errors="coerce")
            truth = np.append(values.to_numpy(dtype=np.float64), np.nan)[mapped.labels.codes]
        elif mapped.labels is not None:
            truth = np.asarray(mapped.labels, dtype=np.float64)
    columns: dict[str, Column] = {}
    for name in mapped.features:
        if name in mapped.numbers:
            columns[name] = Column(name, name, "feature", NUMBER, mapped.numbers[name])
        else:
            cat = mapped.categories[name]
            columns[name] = Column(name, name, "feature", CATEGORY, cat.codes, cat.names)
    return rows_from_columns(
        core,
        EVAL,
        f"Evaluation rows ({mapped.n_rows:,})",
        columns,
        (pred, table.proba, truth),
        mapped.rows,
        lambda: ev.rows()[0],
        shap_rows,
        notes,
        stored_shap=ev.stored_shap_sample() if table.source == "stored" else None,
        fixed=mapped.fixed_order(),
    )


SAMPLE_NOTE = "SHAP views use a random sample of "
STALE_SHAP = (
    "the SHAP sample stored at packaging differs from what the explainer answers here: it is explained again"
)


def _sample_note(shap: ShapSample, n: int, stored: int) -> str:
    where = "explained at packaging" if stored >= shap.total else "explained once per worker"
    if 0 < stored < shap.total:
        where = f"{stored:,} of them explained at packaging, the rest once per worker"
    return f"{SAMPLE_NOTE}{shap.total:,} of the {n:,} rows, {where}"


def rows_from_columns(
    core: ScoringService,
    key: str,
    title: str,
    columns: dict[str, Column],
    outcomes: tuple[npt.NDArray[Any], npt.NDArray[np.float64] | None, npt.NDArray[Any] | None],
    take_rows: Callable[[npt.NDArray[np.int64]], pd.DataFrame],
    all_rows: Callable[[], pd.DataFrame],
    shap_rows: int,
    notes: list[str],
    explain: Callable[[npt.NDArray[np.int64]], npt.NDArray[np.float64]] | None = None,
    stored_shap: npt.NDArray[np.float64] | None = None,
    fixed: tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None = None,
) -> Dataset:
    """A data set of kind rows from its feature columns and outcomes (prediction, probabilities, label):
    the outcome columns, the fixed order and the SHAP sample (``explain``: SHAP values of row ids; by
    default the served explainer on ``take_rows``; ``stored_shap``: the sample's first rows' values
    explained at packaging, used once the explainer agrees on its first rows, ``scorers.eval_sample``;
    ``fixed``: the fixed order and ranks when stored at packaging, else computed here)."""
    explainer = core.explainer
    pred, proba, truth = outcomes
    classes = None if explainer.classes is None else [str(_plain(c)) for c in explainer.classes]
    columns.update(outcome_columns(classes, pred, proba, truth))
    n = len(pred)
    order, rank = fixed if fixed is not None else fixed_order(n)

    def explain_rows(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        return explainer.explain_frame(take_rows(ids)).values

    rows = order[: min(shap_rows, n)]
    known = None
    if stored_shap is not None and len(rows):
        known = eval_sample.checked(explainer, stored_shap, take_rows(rows[: eval_sample.CHECKED]))
        if known is None:
            notes.append(STALE_SHAP)
    shap = ShapSample(rows, explain or explain_rows, known=known)
    if shap.total < n:
        notes.append(_sample_note(shap, n, 0 if known is None else min(len(known), shap.total)))
    return Dataset(
        key=key,
        title=title,
        kind="rows",
        n_rows=n,
        features=list(explainer.features),
        classes=classes,
        class_values=None if explainer.classes is None else [_plain(c) for c in explainer.classes],
        columns=columns,
        output_space=explainer.output_space,
        fidelity=_fidelity(core),
        pred=pred,
        proba=proba,
        truth=truth,
        rank=rank,
        shap=shap,
        take_rows=take_rows,
        all_rows=all_rows,
        order=order,
        notes=notes,
    )


def stored_dataset(core: ScoringService, key: str) -> Dataset:
    """An explanation from the store: local (SHAP values, predictions, labels) or global."""
    from store.records import ERROR_VALUES  # the store is open here (core.store)

    explanation_id = key[len(STORED) :]
    meta, record = core.store.get(explanation_id)
    same_model = meta.model_name == core.name and meta.model_version in (None, core.version)
    fidelity = _fidelity(core) if same_model else None
    notes = [] if same_model else ["stored for another model (or none named): its fidelity is not known"]
    classes = None if record.classes is None else [str(c) for c in record.classes]
    title = f"Stored {record.kind} explanation {explanation_id[:8]}" + (
        f" ({meta.comment})" if meta.comment else ""
    )
    empty = np.zeros(0, dtype=np.int64)
    if not record.is_local:
        return Dataset(
            key=key,
            title=title,
            kind="global",
            n_rows=0,
            features=list(record.features),
            classes=classes,
            class_values=record.classes,
            columns={},
            output_space=record.output_space,
            fidelity=fidelity,
            pred=empty,
            proba=None,
            truth=None,
            rank=empty,
            shap=ShapSample(empty, None),
            global_only=GlobalOnly(record.kind, record.per_class(), dict(record.info), record.n_rows),
            notes=[*notes, "a global explanation has no rows: importance only"],
        )
    a = record.arrays
    values = np.asarray(a["values"], dtype=np.float64)
    outputs = np.asarray(a["outputs"], dtype=np.float64)
    proba = np.asarray(a["probabilities"], dtype=np.float64) if "probabilities" in a else None
    truth: npt.NDArray[Any] | None = None
    if classes is not None:
        if "predictions" in a:
            pred: npt.NDArray[Any] = np.asarray(a["predictions"], dtype=np.int64)
        else:
            pred = np.argmax(proba if proba is not None else outputs, axis=1).astype(np.int64)
            notes.append("no stored predictions: the class of the largest output is shown")
        if "true_ys" in a:
            truth = np.asarray(a["true_ys"], dtype=np.int64)
    else:
        pred = np.asarray(a["predictions"] if "predictions" in a else outputs[:, 0], dtype=np.float64)
        if "true_ys" in a:
            truth = np.asarray(a["true_ys"], dtype=np.float64)
    n = values.shape[0]
    columns = outcome_columns(classes, pred, proba, truth)
    which = pred if classes is not None else np.zeros(n, dtype=np.int64)
    for j, name in enumerate(record.features):
        cid = SHAP + name
        shown = values[np.arange(n), which, j]
        columns[cid] = Column(cid, f"SHAP({name})", "shap", NUMBER, shown)
    _, rank = fixed_order(n)
    return Dataset(
        key=key,
        title=title,
        kind="local",
        n_rows=n,
        features=list(record.features),
        classes=classes,
        class_values=record.classes,
        columns=columns,
        output_space=record.output_space,
        fidelity=fidelity,
        pred=pred,
        proba=proba,
        truth=truth,
        rank=rank,
        shap=ShapSample.complete(values),
        stored={
            "base_values": np.asarray(a["base_values"], dtype=np.float64),
            "outputs": outputs,
            # the error estimate the explanation was stored with (issue 24), else absent
            **({"error_rows": a["error_rows"], "error_values": a[ERROR_VALUES]} if ERROR_VALUES in a else {}),
        },
        notes=[
            *notes,
            "a stored explanation has no feature values: what-if, ICE and dependence plots need them",
        ],
    )


@dataclass(frozen=True)
class Loader:
    """A source kept in its own module (``recorded``): how to load it, and how long a load stays fresh."""

    load: Callable[[ScoringService], Dataset]
    max_age: float


LOADERS: dict[str, Loader] = {}
# computations that depend on the loaded rows only, which ``preload`` runs once the default data set is
# loaded, in its background thread (the views register theirs: the performance tab's probability bins)
PREPARED: list[Callable[[Dataset], None]] = []


def prepared(prepare: Callable[[Dataset], None]) -> Callable[[Dataset], None]:
    """Register ``prepare`` to run on the default data set once ``preload`` loaded it."""
    PREPARED.append(prepare)
    return prepare


LOADED_AT = "loaded_at"


def register(key: str, load: Callable[[ScoringService], Dataset], max_age: float) -> None:
    LOADERS[key] = Loader(load, max_age)


def _fresh(key: str, ds: Dataset | None) -> Dataset | None:
    loader = LOADERS.get(key)
    if ds is None or loader is None or time.monotonic() - ds.cache.get(LOADED_AT, 0.0) <= loader.max_age:
        return ds
    return None


class Registry:
    """The data sets of one loaded model in this worker: each loaded once (one loader at a time per
    key; other requests for it wait), stored explanations in a small LRU."""

    def __init__(self, core: ScoringService) -> None:
        self._core = weakref.ref(core)
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}
        self._sets: dict[str, Dataset] = {}
        self.warmed = False  # ``warm`` ran

    def default_key(self) -> str:
        core = self._core()
        assert core is not None
        return EVAL if core.explainer.evaluation is not None else SAMPLE

    def get(self, key: str | None) -> Dataset:
        key = key or self.default_key()
        known = key in (EVAL, SAMPLE, *LOADERS)
        if not known and not (key.startswith(STORED) and len(key) > len(STORED)):
            raise InputError(
                f"unknown source {key!r}; expected one of {[EVAL, SAMPLE, *LOADERS]} or 'stored:<id>'",
                field="source",
            )
        with self._lock:
            found = _fresh(key, self._sets.get(key))
            if found is not None:
                return found
            gate = self._loading.setdefault(key, threading.Lock())
        with gate:
            with self._lock:
                found = _fresh(key, self._sets.get(key))
            if found is None:
                found = self._load(key)
                with self._lock:
                    self._sets[key] = found
                    stored = [k for k in self._sets if k.startswith(STORED)]
                    for old in stored[:-STORED_CACHE]:
                        del self._sets[old]
        if found.has_rows:
            found.shap.start()
        return found

    def _load(self, key: str) -> Dataset:
        core = self._core()
        assert core is not None
        if key in LOADERS:
            ds = LOADERS[key].load(core)
            ds.cache[LOADED_AT] = time.monotonic()
            return ds
        if key.startswith(STORED):
            return stored_dataset(core, key)
        ds = rows_dataset(core, key, core.settings.dashboard_shap_rows)
        for col in ds.columns.values():  # every summary describes every column: once, with the load
            col.describe()  # (in ``preload``'s thread on a page's first request, before the summary)
        return ds


_REGISTRIES: weakref.WeakKeyDictionary[Any, Registry] = weakref.WeakKeyDictionary()
_REGISTRIES_LOCK = threading.Lock()


def registry(core: ScoringService) -> Registry:
    with _REGISTRIES_LOCK:
        found = _REGISTRIES.get(core)
        if found is None:
            found = _REGISTRIES[core] = Registry(core)
        return found


def dataset(core: ScoringService, key: str | None) -> Dataset:
    return registry(core).get(key)


def preload(core: ScoringService, *, store: bool = True) -> threading.Thread:
    """Load the default data set (its SHAP sample started), then run what ``prepared`` registered on it,
    in a background thread, which this returns; with ``store``, open the explanation store in another."""

    def load() -> None:
        try:
            ds = registry(core).get(None)
            for prepare in PREPARED:  # what the first visit of a tab would compute (``prepared``)
                prepare(ds)
        except Exception:  # noqa: BLE001 - the first dashboard request reports the reason
            return

    def open_store() -> None:
        try:
            core.store  # noqa: B018 - opened on first use (the sources' listing)
        except Exception:  # noqa: BLE001 - the sources route reports the store as unavailable
            return

    if store:
        threading.Thread(target=open_store, name="dashboard-store", daemon=True).start()
    thread = threading.Thread(target=load, name="dashboard-preload", daemon=True)
    thread.start()
    return thread


def warm(core: ScoringService) -> None:
    """On the first page request of this worker: ``preload``, so that the data are loaded while the
    browser fetches and runs the page's files (the page itself holds no data; its data routes need the
    key as before).  Not the store: its opening (the sqlalchemy / alembic import, 0.3-0.7 s of CPU)
    would share the cores with the first paint; the page lists the stored sources after it, on demand."""
    reg = registry(core)
    with reg._lock:
        if reg.warmed:
            return
        reg.warmed = True
    preload(core, store=False)


__all__ = [
    "EVAL",
    "SAMPLE",
    "STORED",
    "Dataset",
    "dataset",
    "fixed_order",
    "SAMPLE_NOTE",
    "preload",
    "prepared",
    "warm",
    "registry",
    "rows_from_columns",
]
