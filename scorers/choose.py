"""The two decisions fit makes about a model: where to mask coalitions, and which scorer explains it
in which output space.  Each is made here once; the manifest records both and load replays them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import spaces
from .errors import InputError, UnsupportedModelError
from .input_schema import Schema
from .kinds import REGISTRY, FitOptions, auto_order
from .masking import GROUPED, Masking
from .preprocess import detect_groups
from .runtimes import ModelRuntime


# --------------------------------------------------------------------------------------------------
# masking
# --------------------------------------------------------------------------------------------------
def build_masking(
    runtime: ModelRuntime, schema: Schema, mode: str, column_group: np.ndarray, encoded_names: list[str]
) -> Masking:
    encode, _ = runtime.encoder(mode)
    return Masking(mode, schema.names, np.asarray(column_group, dtype=np.int64), encoded_names, encode)


def choose_masking(runtime: ModelRuntime, schema: Schema, frame: pd.DataFrame) -> tuple[Masking, str]:
    """(masking, reason): the first mode the runtime offers that holds on the training rows.

    ``grouped`` holds only where the preprocessor is measured column-wise (scorers.preprocess).
    """
    verify = getattr(runtime, "verify_head", None)
    if verify is not None:  # a head read from the model file (ONNX) must match it on every training row
        verify(frame)
    names = schema.names
    singles = np.arange(len(names))
    failed = ""
    for mode, reason in runtime.masking_modes():
        if mode != GROUPED:
            if failed:
                reason = f"preprocessing is not column-wise ({failed}); {reason}"
            return build_masking(runtime, schema, mode, singles, names), reason
        transform, _ = runtime.encoder(GROUPED)
        out_names = runtime.encoded_names()
        owner, failed = detect_groups(transform, frame, out_names)
        if owner is not None:
            enc_names = out_names or [f"{names[g]}[{c}]" for c, g in enumerate(owner)]
            return build_masking(runtime, schema, GROUPED, owner, enc_names), reason
    raise UnsupportedModelError(f"no masking mode applies to this model ({failed})")


# --------------------------------------------------------------------------------------------------
# scorer and space
# --------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ScorerChoice:
    kind: str
    space: str
    fallback: str | None  # why another kind than the one asked for explains the model


def choose_scorer(
    requested: str,
    output_space: str | None,
    head: object,
    task: str,
    masking: Masking,
    options: FitOptions,
) -> ScorerChoice:
    """``auto``: the first kind in auto order with an exact answer in the space; a named kind: that kind,
    or, where it lacks the requested space, the first black-box kind that has it (noted as a fallback)."""
    if output_space is not None and output_space not in spaces.SPACES:
        raise InputError(
            f"unknown output space '{output_space}'; expected one of {list(spaces.SPACES)}",
            field="output_space",
        )
    mode = masking.mode
    params = {"max_features": options.max_exact_features}

    def available(kind: str) -> list[str]:
        return REGISTRY[kind].native_spaces(head, task, mode, masking, **params)

    if requested == "auto":
        refused: list[str] = []  # a kind that knows the model but cannot explain it says why
        for kind in auto_order():
            avail = available(kind)
            if avail and (output_space is None or output_space in avail):
                note = f"{'; '.join(refused)}; the {kind} scorer explains it" if refused else None
                return ScorerChoice(kind, output_space or avail[0], note)
            reason = REGISTRY[kind].refusal(head, task)
            if reason:
                refused.append(f"the {kind} scorer cannot explain it exactly ({reason})")
        raise UnsupportedModelError(f"no scorer explains this model in the '{output_space}' space")
    if requested not in REGISTRY:
        raise InputError(
            f"unknown scorer '{requested}'; expected auto or one of {sorted(REGISTRY)}", field="scorer"
        )
    avail = available(requested)
    if avail and (output_space is None or output_space in avail):
        return ScorerChoice(requested, output_space or avail[0], None)
    if not avail:
        raise UnsupportedModelError(REGISTRY[requested].why_not(head, mode, masking, options))
    for kind in auto_order():
        if REGISTRY[kind].black_box and output_space in available(kind):
            note = (
                f"the {requested} scorer is exact only in {avail}; '{output_space}' was asked for, "
                f"so the {kind} scorer explains it"
            )
            return ScorerChoice(kind, str(output_space), note)
    raise UnsupportedModelError(f"no scorer explains this model in the '{output_space}' space")
