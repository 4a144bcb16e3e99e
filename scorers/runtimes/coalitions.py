"""Coalition runtimes: the model function evaluated on hybrid rows, chosen at fit, replayed at load.

Explaining runs the model on many hybrids, so the fastest faithful implementation of the head in the
explained space is chosen once, at fit: the runtime's own output (``sklearn``, ``onnxruntime``), a
skl2onnx export of a scikit-learn head, or a model-specific numpy fast path.  An alternative is a
candidate only when it matches the runtime's own output on probe hybrids to ``tol``; the most
preferred candidate wins unless another is clearly faster (``_preferred``).  The manifest records the winner's name, and ``replay`` rebuilds it at load.
The choice is by wall time, so it only decides speed: fidelity's reference and calibration are computed
with one function fixed without timing (``CoalitionChoice.reference``: the model-specific fast path when
it is faithful, else the runtime's own output), whichever candidate won.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..masking import RAW, Masking
from .base import ModelRuntime, OutputFn, time_call
from .fastpaths import fast_output_fn
from .onnx_export import OnnxExport, export_head, onnx_output_fn

ONNX_EXPORT = "onnxruntime"
SLACK = 1.5  # a less preferred coalition runtime must be this much faster to be chosen


@dataclass
class CoalitionChoice:
    """The chosen model function on hybrids and what the choice measured (it goes into the manifest)."""

    name: str
    fn: OutputFn
    onnx_head: bytes | None = None
    onnx: dict[str, Any] = field(default_factory=dict)
    fast_path: dict[str, Any] = field(default_factory=dict)
    timings: dict[str, Any] = field(default_factory=dict)
    # the function fidelity's reference and calibration are computed with, chosen without timing (the
    # faithful fast path, else the model's own runtime output); None when ``fn`` is it (decision 52)
    reference: OutputFn | None = None


def choose(
    runtime: ModelRuntime,
    head: Any,
    masking: Masking,
    space: str,
    n_classes: int,
    background: np.ndarray,
    *,
    use_onnx: bool,
    tol: float,
    evaluates_coalitions: bool,
    scorer: str,
) -> CoalitionChoice:
    """The fastest faithful model function on hybrids of the encoded ``background``."""
    mode = masking.mode
    native = runtime.output(space, mode, n_classes)
    if head is None:
        reason = "the model is an ONNX graph" if runtime.format == "onnx" else "the model is a black box"
        return CoalitionChoice(runtime.name, native, onnx={"exported": False, "reason": reason})
    if mode == RAW:
        reason = "raw masking evaluates the whole pipeline"
        return CoalitionChoice(runtime.name, native, onnx={"exported": False, "reason": reason})
    if not use_onnx:
        return CoalitionChoice(runtime.name, native, onnx={"exported": False, "reason": "disabled"})
    if not evaluates_coalitions:
        reason = f"the {scorer} scorer reads the model's parameters"
        return CoalitionChoice(runtime.name, native, onnx={"exported": False, "reason": reason})
    probe = probe_hybrids(background.astype(np.float64), masking.column_group, masking.n_players)
    export: OnnxExport = export_head(head, probe.shape[1], runtime.task, space, native, probe, tol)
    choice = CoalitionChoice(
        runtime.name,
        native,
        onnx_head=export.model_bytes,
        onnx={
            "exported": export.model_bytes is not None,
            "dtype": export.dtype,
            "max_abs_diff": export.max_abs_diff,
            "reason": export.reason,
        },
    )
    candidates: dict[str, OutputFn] = {runtime.name: native}
    if export.model_bytes is not None:
        candidates[ONNX_EXPORT] = onnx_output_fn(export.model_bytes, runtime.task, space)
    fast = fast_output_fn(head, space)
    if fast is not None:
        diff = float(np.max(np.abs(fast[1](probe) - native(probe))))
        choice.fast_path = {"name": fast[0], "max_abs_diff": diff, "used": False}
        if diff <= tol:
            candidates[fast[0]] = fast[1]
    times = {name: time_call(fn, probe) for name, fn in candidates.items()}
    choice.timings = {"probe_rows": len(probe), **{f"{k}_s": v for k, v in times.items()}}
    choice.name = _preferred(times, [fast[0] if fast else "", ONNX_EXPORT, runtime.name])
    choice.fn = candidates[choice.name]
    fixed = fast[0] if fast is not None and fast[0] in candidates else runtime.name
    choice.reference = None if choice.name == fixed else candidates[fixed]
    if fast is not None and choice.name == fast[0]:
        choice.fast_path["used"] = True
    return choice


def _preferred(times: dict[str, float], preference: list[str]) -> str:
    """The first candidate in order of preference that is within ``SLACK`` of the fastest.

    Timing on a loaded machine is noisy; a plain minimum flips between near-equal candidates from one
    packaging run to the next (and a kernel scorer's anchor needs the fast path).  The preference order
    is the expected speed order (model-specific numpy, then ONNX, then the model's own runtime), and a
    less preferred candidate wins only when it is clearly faster.
    """
    best = min(times.values())
    return next(name for name in preference if name in times and times[name] <= SLACK * best)


def replay(
    name: str,
    runtime: ModelRuntime,
    head: Any,
    mode: str,
    space: str,
    n_classes: int,
    onnx_head: bytes | None,
) -> OutputFn:
    """The model function a manifest recorded as ``name``."""
    if name == runtime.name:
        return runtime.output(space, mode, n_classes)
    if name == ONNX_EXPORT and onnx_head is not None:
        return onnx_output_fn(onnx_head, runtime.task, space)
    fast = fast_output_fn(head, space)
    if fast is not None and fast[0] == name:
        return fast[1]
    from ..errors import ArtifactError

    raise ArtifactError(f"the manifest names coalition runtime '{name}', which this model does not offer")


def probe_hybrids(
    bg: np.ndarray, column_group: np.ndarray, n_players: int, n: int = 4000, seed: int = 0
) -> np.ndarray:
    """Realistic hybrids of background rows, for parity and timing of the model function."""
    rng = np.random.default_rng(seed)
    a = bg[rng.integers(0, len(bg), n)]
    b = bg[rng.integers(0, len(bg), n)]
    masks = rng.random((n, n_players)) < 0.5
    return np.where(masks[:, column_group], a, b)
