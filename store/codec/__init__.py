"""Explanations in and out of the store's canonical :class:`~store.records.Record`.

In: an engine object (``scorers.Explanation``; anything with ``to_json()``/``to_dict()``, such as
``scorers.GlobalExplanation``), a downloaded explanation, or the JSON answer of ``/explain`` or
``/explain_global``.  Every malformed input raises ``InputError`` naming the field (``explanation.
local_importance_values[3][1]``) and what was expected.  Out: the same JSON shapes (:func:`to_json`).
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from scorers.errors import InputError

from ..errors import ExplanationTooLarge
from ..records import EXTRA, KINDS, LOCAL, Record
from .checks import COMMENT, ROOT, adapt, decode_labels, encode_labels, validate_model, where
from .global_ import global_from_json, global_to_json
from .local import JSON_FIELD, local_from_engine, local_from_json, local_to_json

__all__ = [
    "COMMENT",
    "ROOT",
    "adapt",
    "check_size",
    "decode_labels",
    "encode_labels",
    "from_any",
    "from_json",
    "to_json",
    "validate_model",
    "where",
    "with_true_ys",
]


def from_json(payload: Any, prefix: str = ROOT) -> Record:
    """An ``/explain`` or ``/explain_global`` answer (or this module's ``to_json``) as a Record."""
    if not isinstance(payload, dict):
        raise InputError(f"expected a JSON object, got {type(payload).__name__}", field=prefix)
    kind = payload.get("kind")
    if kind is not None and kind not in KINDS:
        raise InputError(
            f"unknown kind {kind!r}; expected one of {', '.join(KINDS)}", field=where(prefix, "kind")
        )
    if kind == LOCAL or (kind is None and "local_importance_values" in payload):
        return local_from_json(payload, prefix)
    if "per_class" in payload:
        return global_from_json(payload, prefix)
    raise InputError(
        "expected the answer of /explain (with 'local_importance_values') or of /explain_global "
        "(with 'per_class')",
        field=prefix,
    )


def from_any(explanation: Any, prefix: str = ROOT) -> Record:
    """Any explanation the store accepts, as a Record (see the module docstring)."""
    if isinstance(explanation, Record):
        return explanation
    record = getattr(explanation, "record", None)
    if isinstance(record, Record):
        return record
    if isinstance(explanation, dict):
        return from_json(explanation, prefix)
    if all(hasattr(explanation, a) for a in ("values", "base_values", "outputs", "features")):
        return local_from_engine(explanation, prefix)
    for method in ("to_json", "to_dict"):
        fn = getattr(explanation, method, None)
        if callable(fn):
            data = fn()
            if isinstance(data, str):
                data = json.loads(data)
            return from_json(data, prefix)
    raise InputError(
        f"expected an explanation (scorers.Explanation, scorers.GlobalExplanation, an object with "
        f"to_json(), or a JSON object), got {type(explanation).__name__}",
        field=prefix,
    )


def check_size(record: Record, max_bytes: int, prefix: str = ROOT) -> None:
    """413 when the arrays exceed ``max_bytes``; the message names the largest array."""
    total = record.nbytes()
    if total <= max_bytes:
        return
    name, biggest = max(record.arrays.items(), key=lambda kv: kv[1].nbytes)
    json_name = JSON_FIELD.get(name, name.replace(EXTRA, "extras."))
    raise ExplanationTooLarge(
        f"the explanation's arrays take {total} bytes, over the limit of {max_bytes} per upload "
        f"(the largest, shape {biggest.shape}, takes {biggest.nbytes}); upload fewer rows or use top_k",
        field=where(prefix, json_name),
    )


def to_json(record: Record) -> dict[str, Any]:
    """The record in the shape of ``/explain`` (local) or ``/explain_global`` (global), plus facts."""
    out = local_to_json(record) if record.is_local else global_to_json(record)
    if record.scorer is not None:
        out["scorer"] = record.scorer
    if record.top_k is not None:
        out["top_k"] = record.top_k
    if record.info:
        out["info"] = record.info
    return out


def with_true_ys(record: Record, true_ys: Any, field: str = "true_ys") -> Record:
    """The record with the true labels of its rows (one per row; class labels for classifiers)."""
    arrays = dict(record.arrays)
    arrays["true_ys"] = encode_labels(field, true_ys, record.classes, record.n_rows)
    return replace(record, arrays=arrays)
