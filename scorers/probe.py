"""Model probing at fit: ask the model which raw features it can impute, whether it takes unseen
categories and how large a number it reads (``scorers.magnitude``), so that validation at serving time
accepts exactly what the model accepts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .input_schema import CATEGORY, Feature
from .magnitude import probe_magnitude
from .runtimes import CLASSIFIER, ModelRuntime

UNSEEN = "__shapserve_unseen_category__"


def probe_features(model: ModelRuntime, frame: pd.DataFrame, features: list[Feature]) -> None:
    """Set ``nullable``, ``unseen`` and ``max_abs`` on each feature by trying two training rows."""
    rows = frame.iloc[:2].copy()

    def works(test: pd.DataFrame) -> bool:
        try:
            out = model.predict_proba(test) if model.task == CLASSIFIER else model.predict(test)
            return bool(np.all(np.isfinite(np.asarray(out, dtype=np.float64))))
        except Exception:  # noqa: BLE001 - a refusal is the answer we are looking for
            return False

    for feat in features:
        if not feat.nullable:
            test = rows.copy()
            test[feat.name] = np.nan if feat.dtype != CATEGORY else None
            if feat.dtype == CATEGORY:
                test[feat.name] = test[feat.name].astype(object)
            feat.nullable = works(test)
        if feat.dtype == CATEGORY:
            test = rows.copy()
            test[feat.name] = UNSEEN
            feat.unseen = "accepted" if works(test) else "rejected"
    probe_magnitude(model, frame, features)
