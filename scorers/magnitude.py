"""The largest magnitude a model reads in its numeric features, probed at packaging.

The raw schema takes any finite float64 (decision 58), but a model may not: a scikit-learn tree casts
its input to float32 and raises on a value beyond float32's range (|x| > 3.4e38), and a pipeline may
scale a value before such a step, so the limit belongs to the model after its preprocessing.  Packaging
asks the model: every numeric feature of two training rows set to +v and -v.  A model that takes
float64's largest value keeps no bound.  One that refuses it gets, on every numeric feature, the largest
value of a ladder (the powers of ten up to 1e308, and float32's largest value) that it takes, found by
bisection; ``Feature.max_abs`` records it, and the cell checks refuse a larger magnitude with a 400
naming the row and the field (docs/decisions.md, 61).  A model that refuses even 1 says nothing by
this probe (no bound).  One value for all features: the least any of them takes (the probe sets them
together, so a step that sums features is probed too).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .input_schema import FLOAT32_MAX, NUMBER, Feature
from .runtimes import CLASSIFIER, ModelRuntime

FLOAT64_MAX = float(np.finfo(np.float64).max)
LADDER = sorted([10.0**k for k in range(309)] + [FLOAT32_MAX])


def probe_magnitude(model: ModelRuntime, frame: pd.DataFrame, features: list[Feature]) -> None:
    """Set ``max_abs`` on the numeric features when the model refuses float64's largest value."""
    numeric = [f.name for f in features if f.dtype == NUMBER]
    if not numeric:
        return
    rows = frame.iloc[:2].copy()

    def takes(value: float) -> bool:
        test = rows.copy()
        sign = np.where(np.arange(len(test)) % 2 == 0, 1.0, -1.0)
        for name in numeric:
            test[name] = sign * value
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # the casts that overflow, the answer sought
                model.predict_proba(test) if model.task == CLASSIFIER else model.predict(test)
        except Exception:  # noqa: BLE001 - a refusal is the answer we are looking for
            return False
        return True

    if takes(FLOAT64_MAX) or not takes(LADDER[0]):
        return
    lo, hi = 0, len(LADDER)  # LADDER[lo] is taken, LADDER[hi] (float64's largest, past the end) is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if takes(LADDER[mid]):
            lo = mid
        else:
            hi = mid
    for feat in features:
        if feat.dtype == NUMBER:
            feat.max_abs = LADDER[lo]
