"""Whether a model answers some rows, for the probes at packaging (``scorers.probe``,
``scorers.magnitude``): the one rule of what counts as the model taking its input."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .runtimes import CLASSIFIER, ModelRuntime


def failure(model: ModelRuntime, rows: pd.DataFrame, proba: bool = True) -> str | None:
    """None when the model answers every row with finite outputs (a classifier's probabilities, or with
    ``proba=False`` its predictions, which every classifier has), else what went wrong: an answer that
    overflowed is no answer, since JSON has no infinity and it could not be served."""
    try:
        out = model.predict_proba(rows) if proba and model.task == CLASSIFIER else model.predict(rows)
    except Exception as exc:  # noqa: BLE001 - a refusal is the answer we are looking for
        text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        return f"{type(exc).__name__}: {text[:400]}"
    values = np.asarray(out)
    if values.dtype.kind not in "fc":  # labels
        return None
    bad = ~np.isfinite(values.astype(np.float64).reshape(len(rows), -1)).all(axis=1)
    return f"a non-finite output on the row {rows.index[np.argmax(bad)]}" if bad.any() else None
