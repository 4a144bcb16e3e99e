"""Optional, off by default: keep a sample of served ``/explain`` answers for later analysis.

:func:`record` writes one answer now, in the caller's thread (a script, a test). The service does not
call it on the request path: its workers queue samples for ``store.record_writer``, which writes them in
batches in the background and applies retention there.
A recorded answer is stored like an upload, with ``source="recorded"``, its request id and the time,
and is left out of listings and latest-matching downloads unless asked for (``source=recorded``).
After each recorded answer the oldest recorded ones beyond ``retention_rows`` are deleted.
Recording never fails a request: a store error is logged and ``None`` returned.
"""

from __future__ import annotations

import logging
import random
from dataclasses import replace
from typing import Any

import numpy.typing as npt

from . import codec
from .records import INPUTS, Record
from .repository import RECORDED, ExplanationStore

log = logging.getLogger("shapserve.store")


def record(
    answer: dict[str, Any],
    request_id: str | None,
    sample_rate: float,
    retention_rows: int,
    *,
    store: ExplanationStore | None = None,
    model_name: str | None = None,
    model_version: str | None = None,
    rng: random.Random | None = None,
    inputs: npt.NDArray[Any] | None = None,
) -> str | None:
    """Store ``answer`` with probability ``sample_rate``; the new id, or None when not recorded.

    ``inputs``: the answer's rows coded as numbers by the model's monitoring baseline (n, M), stored
    as the array ``inputs`` so that input drift can be computed over time (``store.drift``)."""
    if sample_rate <= 0 or (rng or random).random() >= sample_rate:
        return None
    try:
        target = store or default_store()
        rec = encode(answer, inputs)
        rid = None if request_id is None else request_id.replace("\x00", "")[:128]
        new_id = target.add(
            rec, source=RECORDED, request_id=rid, model_name=model_name, model_version=model_version
        )
        target.trim(retention_rows, source=RECORDED)
        return new_id
    except Exception:  # noqa: BLE001 - recording is best effort, the answer has been served
        log.exception("could not record the /explain answer of request %s", request_id)
        return None


def encode(answer: dict[str, Any], inputs: npt.NDArray[Any] | None = None) -> Record:
    """The store's record of an ``/explain`` answer, its ``error_estimate`` with it (its ``ranked`` lists
    and ``max_error``'s per-request ``refinement`` are not kept), with its rows
    coded by the monitoring baseline as the array ``inputs`` when given."""
    kept = {k: v for k, v in answer.items() if k not in ("ranked", "refinement")}
    rec = codec.from_json(kept, prefix="answer")
    return rec if inputs is None else replace(rec, arrays={**rec.arrays, INPUTS: inputs})


_DEFAULT: dict[str, ExplanationStore] = {}


def default_store() -> ExplanationStore:
    """One store per process for the settings' URL, opened (and migrated) on first use."""
    if "store" not in _DEFAULT:
        _DEFAULT["store"] = ExplanationStore()
    return _DEFAULT["store"]
