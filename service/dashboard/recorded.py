"""The source ``recorded``: the packaging rows (the evaluation rows, else the training sample) followed
by the ``/explain`` answers the store recorded for this model, with the column ``@recorded`` (when each
answer was recorded, seconds since the epoch; missing on the packaging rows).  The cohort kind ``since``
(``cohorts.since``) selects the recorded rows after a time, to compare against the packaging rows (the
cohort ``@recorded is missing``) in every tab (docs/dashboard.md).

The recorded rows' inputs are the recorder's coding by the monitoring baseline, decoded
(``Baseline.decode_inputs``): a rare or unseen category comes back missing.  Their SHAP values and
predictions are the recorded ones; the packaging rows' are computed as for their own source.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from scorers.errors import InputError
from store import Filters
from store.records import INPUTS
from store.repository import RECORDED

from .cohorts import RECORDED_AT
from .sources import EVAL, SAMPLE, SAMPLE_NOTE, Dataset, register, rows_dataset, rows_from_columns
from .table import NUMBER, Column, feature_columns

if TYPE_CHECKING:
    from ..core import ScoringService

KEY = "recorded"
MAX_AGE = 60.0  # seconds a load of the recorded answers is shown before the next request reloads it
DECODED = "the recorded rows' inputs are decoded from the monitoring baseline's bins: a rare or unseen category shows as missing"


def _recorded(core: ScoringService) -> tuple[pd.DataFrame, npt.NDArray[np.float64], dict[str, list[Any]]]:
    base = core.explainer.baseline
    filters = Filters(kind="local", source=RECORDED, model_name=core.name, model_version=core.version)
    parts: dict[str, list[Any]] = {
        "values": [],
        "predictions": [],
        "probabilities": [],
        "times": [],
        "coded": [],
    }
    for meta, arrays in core.store.arrays(filters, ("values", INPUTS, "predictions", "probabilities")):
        coded = arrays.get(INPUTS)
        if base is None or coded is None or meta.features != base.features:
            continue  # recorded without its rows, or for another feature list
        n = coded.shape[0]
        parts["coded"].append(coded)
        parts["values"].append(arrays["values"])
        parts["predictions"].append(arrays.get("predictions"))
        parts["probabilities"].append(arrays.get("probabilities"))
        parts["times"].append(np.full(n, meta.created.timestamp()))
    assert base is not None
    coded_all = np.concatenate(parts["coded"]) if parts["coded"] else np.zeros((0, len(base.features)))
    times = np.concatenate(parts["times"]) if parts["times"] else np.zeros(0)
    return base.decode_inputs(coded_all), times, parts


def recorded_dataset(core: ScoringService) -> Dataset:
    if core.explainer.baseline is None:
        raise InputError(
            "this model has no monitoring baseline: its recorded answers have no rows", field="source"
        )
    packaging = EVAL if core.explainer.evaluation is not None else SAMPLE
    ds0 = rows_dataset(core, packaging, core.settings.dashboard_shap_rows)
    frame1, times, parts = _recorded(core)
    n0, n1 = ds0.n_rows, len(frame1)
    frame0 = ds0.frame
    assert frame0 is not None
    frame = pd.concat([frame0, frame1.astype(frame0.dtypes.to_dict())], ignore_index=True)
    k = len(ds0.classes) if ds0.classes is not None else 1
    values1 = np.concatenate(parts["values"]) if parts["values"] else np.zeros((0, k, len(ds0.features)))
    if ds0.classes is not None:
        pred1 = np.concatenate([p for p in parts["predictions"] if p is not None] or [np.zeros(0)]).astype(
            np.int64
        )
        truth1: npt.NDArray[Any] = np.full(n1, -1, dtype=np.int64)
    else:
        pred1 = np.concatenate([p for p in parts["predictions"] if p is not None] or [np.zeros(0)]).astype(
            np.float64
        )
        truth1 = np.full(n1, np.nan)
    if len(pred1) != n1:
        raise InputError("some recorded answers have no predictions: they cannot be compared", field="source")
    pred = np.concatenate([ds0.pred, pred1])
    truth = None if ds0.truth is None else np.concatenate([ds0.truth, truth1])
    proba = None
    if ds0.proba is not None and all(p is not None for p in parts["probabilities"]):
        proba = np.concatenate([ds0.proba, *parts["probabilities"]])
    explainer = core.explainer

    def explain(ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        out = np.empty((len(ids), k, len(ds0.features)))
        old = ids < n0
        if old.any():
            out[old] = explainer.explain_frame(frame.iloc[ids[old]]).values
        out[~old] = values1[ids[~old] - n0]
        return out

    packaging_notes = [n for n in ds0.notes if not n.startswith(SAMPLE_NOTE)]  # its own sample's
    ds = rows_from_columns(
        core,
        KEY,
        f"Packaging rows ({n0:,}) and recorded answers ({n1:,})",
        feature_columns(frame, explainer.schema.features),
        (pred, proba, truth),
        lambda ids: frame.iloc[ids].reset_index(drop=True),
        lambda: frame,
        core.settings.dashboard_shap_rows,
        [*packaging_notes, DECODED],
        explain,
    )
    ds.columns[RECORDED_AT] = Column(
        RECORDED_AT,
        "Recorded at (s since the epoch)",
        "recorded",
        NUMBER,
        np.concatenate([np.full(n0, np.nan), times]),
    )
    return ds


register(KEY, recorded_dataset, MAX_AGE)


def listing(core: ScoringService) -> list[dict[str, Any]]:
    """The source in the dashboard's list, when this model has recorded answers."""
    if core.explainer.baseline is None:
        return []
    n = core.store.count(
        Filters(kind="local", source=RECORDED, model_name=core.name, model_version=core.version)
    )
    if not n:
        return []
    return [
        {
            "id": KEY,
            "title": f"Packaging rows and {n:,} recorded answers",
            "kind": "rows",
            "n_rows": None,
            "labels": False,
        }
    ]
