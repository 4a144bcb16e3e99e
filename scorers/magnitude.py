"""The largest magnitude a model reads in its numeric features, and whether it reads them as integers:
decided at packaging, from the type an ONNX graph declares and from a probe.

The raw schema takes any finite float64 (decision 58), but a model may not.  A graph read from an ONNX
file declares the element type of its inputs, and a number is fed as that type: a float32 input reads
1e300 as infinity without raising, and an integer one truncates 1.5 to 1; so such a number is bounded
by its type (``TYPE_BOUNDS``: float32's or float16's largest value, a signed integer's range; float64
bounds nothing) and an integer type's number is marked ``integer`` (the cell checks refuse a fraction).
A scikit-learn tree casts its input to float32 and raises on a value beyond float32's range, and a
pipeline may scale a value before such a step, so the limit also belongs to the model after its
preprocessing: packaging asks the model, every numeric feature of two training rows set to +v and -v
(at most its type's bound); it takes a value when it answers and every output is finite (an overflowed
answer could not be served).  A model that takes float64's largest value (or every type's bound) keeps
no bound from the probe.  One that refuses it gets the largest value of a ladder (the powers of ten up
to 1e308, and float32's largest value) that it takes, found by bisection.  A model that refuses even 1
says nothing by this probe.  One value for all features: the least any of them takes (the probe sets
them together, so a step that sums features is probed too).  ``Feature.max_abs`` records the smaller
of the probe's bound and the type's, and the cell checks refuse a larger magnitude with a 400 naming
the row and the field (docs/decisions.md, 61).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .input_schema import FLOAT32_MAX, NUMBER, TYPE_BOUNDS, Feature
from .model_failure import failure
from .runtimes import ModelRuntime, OnnxRuntime

FLOAT64_MAX = float(np.finfo(np.float64).max)
LADDER = sorted([10.0**k for k in range(309)] + [FLOAT32_MAX])


def probe_magnitude(model: ModelRuntime, frame: pd.DataFrame, features: list[Feature]) -> None:
    """Set ``max_abs`` and ``integer`` on the numeric features the model reads within a bound."""
    numeric = [f.name for f in features if f.dtype == NUMBER]
    if not numeric:
        return
    types = model.number_types() if isinstance(model, OnnxRuntime) else {}
    caps = {name: TYPE_BOUNDS.get(types.get(name, "float64"), math.inf) for name in numeric}
    probed = _probe(model, frame, caps)
    for feat in features:
        if feat.dtype == NUMBER:
            bound = min(probed, caps[feat.name])
            feat.max_abs = None if bound == math.inf else bound
            feat.integer = np.dtype(types.get(feat.name, "float64")).kind == "i"


def _probe(model: ModelRuntime, frame: pd.DataFrame, caps: dict[str, float]) -> float:
    """The largest value of the ladder the model takes on every feature at once (each at most its cap),
    or infinity when it takes float64's largest value or refuses even 1."""
    rows = frame.iloc[:2].copy()

    def takes(value: float) -> bool:
        test = rows.copy()
        sign = np.where(np.arange(len(test)) % 2 == 0, 1.0, -1.0)
        for name, cap in caps.items():
            test[name] = sign * min(value, cap)
        with np.errstate(over="ignore", invalid="ignore"):  # the casts that overflow, the answer sought
            return failure(model, test) is None

    if takes(FLOAT64_MAX) or not takes(LADDER[0]):
        return math.inf
    lo, hi = 0, len(LADDER)  # LADDER[lo] is taken, LADDER[hi] (float64's largest, past the end) is not
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if takes(LADDER[mid]):
            lo = mid
        else:
            hi = mid
    return LADDER[lo]
