"""Model runtimes: one backend per module behind one protocol (``base.ModelRuntime``).

``wrap`` chooses the backend once, at fit, from what the user passed; the manifest records it as
``model.prediction_runtime`` and ``model.format``, and ``scorers.model_io`` rebuilds it at load.
Backends: ``sklearn`` (estimators and Pipelines), ``onnx`` (graphs), ``lightgbm`` / ``xgboost``
(boosters and bare scikit-learn wrappers, ``boosters.BoosterRuntime``) and ``generic`` (any object
with predict / predict_proba, a black box).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from ..input_schema import Schema
from .base import CLASSIFIER, REGRESSOR, ModelRuntime, OutputFn
from .boosters import BoosterRuntime, adapt
from .generic import GenericRuntime
from .onnx import OnnxRuntime
from .sklearn import SklearnRuntime, sklearn_task


def wrap(model: Any, schema: Schema, *, task: str | None = None) -> ModelRuntime:
    """The runtime for a user's model: ONNX bytes, a path to an .onnx file or a ModelProto; a LightGBM or
    XGBoost booster or wrapper; a scikit-learn estimator; or any object with predict (``task`` hints
    whether a black box is a classifier or a regressor)."""
    if isinstance(model, (bytes, bytearray)):
        return OnnxRuntime(bytes(model), schema)
    if isinstance(model, (str, Path)) and str(model).endswith(".onnx"):
        return OnnxRuntime(Path(model).read_bytes(), schema)
    if type(model).__name__ == "ModelProto":
        return OnnxRuntime(model.SerializeToString(), schema)
    native = adapt(model, task=task)
    # an XGBoost wrapper that reads a number as missing keeps its own predict (the JSON lacks ``missing``)
    if native is not None and not (native.library == "xgboost" and not math.isnan(native.params["missing"])):
        return BoosterRuntime(native, schema)
    if sklearn_task(model) is not None:
        return SklearnRuntime(model, schema)
    return GenericRuntime(model, schema, task=task)


def name_classes(runtime: ModelRuntime, names: Sequence[Any]) -> list[Any]:
    """Give a classifier's classes the caller's names, by position in the model's own order (its
    ``classes_``, or the order of its probability columns); returns the model's own labels."""
    if runtime.task != CLASSIFIER:
        raise InputError("names the classes of a classifier; this model is a regressor", field="classes")
    labels = [v.item() if isinstance(v, np.generic) else v for v in runtime.classes]
    names = list(names)
    if len(names) != len(labels):
        raise InputError(
            f"expected {len(labels)} class names, one per class of the model in its order {labels}; "
            f"got {len(names)}",
            field="classes",
        )
    if len(set(map(repr, names))) != len(names):
        raise InputError(f"class names must be distinct, got {names}", field="classes")
    runtime.classes = names
    return labels


__all__ = [
    "CLASSIFIER",
    "REGRESSOR",
    "BoosterRuntime",
    "GenericRuntime",
    "ModelRuntime",
    "OnnxRuntime",
    "OutputFn",
    "SklearnRuntime",
    "name_classes",
    "wrap",
]
