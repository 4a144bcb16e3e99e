"""Export a scikit-learn head to ONNX (skl2onnx) and check it is faithful before using it."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import spaces
from .base import CLASSIFIER
from .onnx import ort_session


@dataclass
class OnnxExport:
    model_bytes: bytes | None
    dtype: str | None
    max_abs_diff: float | None
    reason: str


def export_head(
    head: Any,
    n_columns: int,
    task: str,
    space: str,
    reference: Callable[[np.ndarray], np.ndarray],
    probe: np.ndarray,
    tol: float,
) -> OnnxExport:
    """Try double then float inputs; keep the first export whose outputs match ``reference`` on ``probe``."""
    if space == spaces.RAW and task == CLASSIFIER:
        return OnnxExport(None, None, None, "margins of classifiers are evaluated natively")
    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import DoubleTensorType, FloatTensorType
    except ImportError as exc:  # pragma: no cover - skl2onnx is a core dependency
        return OnnxExport(None, None, None, f"skl2onnx unavailable: {exc}")
    expected = reference(probe)
    reasons = []
    for tensor_type, dtype in ((DoubleTensorType, "double"), (FloatTensorType, "float")):
        try:
            options = {id(head): {"zipmap": False}} if task == CLASSIFIER else None
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                onx = to_onnx(head, initial_types=[("X", tensor_type([None, n_columns]))], options=options)
            data = onx.SerializeToString()
            fn = onnx_output_fn(data, task, space)
            diff = float(np.max(np.abs(fn(probe) - expected)))
        except Exception as exc:  # noqa: BLE001 - any converter/runtime failure means "not exportable"
            reasons.append(f"{dtype}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
            continue
        if diff <= tol:
            return OnnxExport(data, dtype, diff, "")
        reasons.append(f"{dtype}: max abs difference {diff:.3g} above {tol:g}")
    return OnnxExport(None, None, None, "; ".join(reasons))


def onnx_output_fn(
    model_bytes: bytes, task: str, space: str, threads: int = 1
) -> Callable[[np.ndarray], np.ndarray]:
    session = ort_session(model_bytes, threads)
    inp = session.get_inputs()[0]
    dtype = np.float64 if "double" in inp.type else np.float32
    out_name = session.get_outputs()[1 if task == CLASSIFIER else 0].name

    def run(x: np.ndarray) -> np.ndarray:
        out = np.asarray(
            session.run([out_name], {inp.name: np.ascontiguousarray(x, dtype=dtype)})[0], dtype=np.float64
        )
        if task == CLASSIFIER:
            return spaces.from_probability(out, space)
        return out.reshape(len(x), -1)

    return run
