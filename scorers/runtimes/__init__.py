"""Model runtimes: one backend per module behind one protocol (``base.ModelRuntime``).

``wrap`` chooses the backend once, at fit, from what the user passed; the manifest records it as
``model.prediction_runtime`` and ``model.format``, and ``scorers.model_io`` rebuilds it at load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..schema import Schema
from .base import CLASSIFIER, REGRESSOR, ModelRuntime, OutputFn
from .onnx import OnnxRuntime
from .sklearn import SklearnRuntime


def wrap(model: Any, schema: Schema, classes: Sequence[Any] | None = None) -> ModelRuntime:
    """The runtime for a user's model: ONNX bytes, a path to an .onnx file or a ModelProto, or an estimator."""
    names = list(classes) if classes is not None else None
    if isinstance(model, (bytes, bytearray)):
        return OnnxRuntime(bytes(model), schema, names)
    if isinstance(model, (str, Path)) and str(model).endswith(".onnx"):
        return OnnxRuntime(Path(model).read_bytes(), schema, names)
    if type(model).__name__ == "ModelProto":
        return OnnxRuntime(model.SerializeToString(), schema, names)
    return SklearnRuntime(model, schema)


__all__ = [
    "CLASSIFIER",
    "REGRESSOR",
    "ModelRuntime",
    "OnnxRuntime",
    "OutputFn",
    "SklearnRuntime",
    "wrap",
]
