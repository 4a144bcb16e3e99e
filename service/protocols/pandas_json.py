"""Rows from the JSON a client already sends: ``DataFrame.to_json()`` in any orient, or Azure ML's wrappers.

The orient is read off the shape of the body (pandas writes no marker), using the model's feature names
where the shape alone is ambiguous:

==============  ==========================================  ==============================================
orient          shape                                       rows
==============  ==========================================  ==============================================
``records``     ``[{"col": v, ...}, ...]``                  the objects, in order
``values``      ``[[v, ...], ...]``                         the arrays, in the feature order of /metadata
``split``       ``{"columns": [...], "index"?, "data"}``    ``data`` keyed by ``columns``
``table``       ``{"schema": {...}, "data": [...]}``        ``data`` without the ``primaryKey`` fields
``columns``     ``{"col": {"label": v, ...}, ...}``         one row per index label, in first-seen order
``index``       ``{"label": {"col": v, ...}, ...}``         the inner objects, in order
Azure ML        ``{"data": X}`` or ``{"input_data": X}``    X decoded as above (any orient but a wrapper)
==============  ==========================================  ==============================================

``columns`` and ``index`` are both an object of objects: the one whose column keys (outer for
``columns``, inner for ``index``) name more of the model's features wins; a tie is ``columns``, pandas'
default (it happens only when the row labels are themselves feature names).  ``{"data": ...}`` is the
Azure ML wrapper unless ``data`` is a feature of the model (then the body is the ``columns`` orient).

Values pass through untouched (``null`` is a missing value, a string where a number is expected stays a
string): the engine's schema validates the rows exactly as for ``/explain``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from scorers.errors import InputError

WRAPPERS = ("data", "input_data")
_EXPECTED = (
    "expected DataFrame.to_json() in one of the orients columns, records, split, index, values, table, "
    'or Azure ML\'s {"data": rows}'
)


def decode(payload: Any, features: Sequence[str]) -> tuple[list[Any], str]:
    """(rows, orient) of a request body; rows are objects keyed by column name, or arrays."""
    return _decode(payload, features, wrapped=False)


def _decode(payload: Any, features: Sequence[str], *, wrapped: bool) -> tuple[list[Any], str]:
    if isinstance(payload, list):
        # records, values, or a mix: each row is checked by the schema as it is
        kinds = {type(r) for r in payload}
        return payload, "records" if kinds == {dict} else "values"
    if not isinstance(payload, dict):
        raise InputError(f"{_EXPECTED}; got a JSON {_json_type(payload)}")
    keys = set(payload)
    if len(keys) == 1 and not wrapped:
        (key,) = keys
        if key in WRAPPERS and key not in features:
            rows, orient = _decode(payload[key], features, wrapped=True)
            return rows, f"{key}:{orient}"
    if "data" in keys and isinstance(payload["data"], list):
        if "columns" in keys and keys <= {"columns", "index", "data"}:
            return _split(payload), "split"
        if keys == {"schema", "data"}:
            return _table(payload), "table"
    return _objects(payload, features)


def _split(payload: dict[str, Any]) -> list[Any]:
    columns = payload["columns"]
    if not isinstance(columns, list):
        raise InputError(f"expected a list of column names, got {_json_type(columns)}", field="columns")
    names = [str(c) for c in columns]
    if len(set(names)) != len(names):
        raise InputError(f"duplicate column names in {names}", field="columns")
    rows = []
    for i, values in enumerate(payload["data"]):
        if not isinstance(values, list) or len(values) != len(names):
            raise InputError(
                f"expected an array of {len(names)} values (one per column), got {_short(values)}",
                row=i,
                field="data",
            )
        rows.append(dict(zip(names, values, strict=True)))
    index = payload.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(rows)):
        raise InputError(f"expected a list of {len(rows)} row labels", field="index")
    return rows


def _table(payload: dict[str, Any]) -> list[Any]:
    schema = payload["schema"]
    primary = schema.get("primaryKey", []) if isinstance(schema, dict) else []
    if isinstance(primary, str):
        primary = [primary]
    drop = {str(k) for k in primary}
    rows = []
    for i, record in enumerate(payload["data"]):
        if not isinstance(record, dict):
            raise InputError(f"expected an object keyed by column name, got {_short(record)}", row=i)
        rows.append({k: v for k, v in record.items() if k not in drop})
    return rows


def _objects(payload: dict[str, Any], features: Sequence[str]) -> tuple[list[Any], str]:
    """The ``columns`` or the ``index`` orient: an object of objects."""
    if not payload:
        raise InputError(f"{_EXPECTED}; got an empty object")
    for key, inner in payload.items():
        if not isinstance(inner, dict):
            raise InputError(f"{_EXPECTED}; key '{key}' holds a JSON {_json_type(inner)}", field=str(key))
    known = set(features)
    outer_hits = sum(k in known for k in payload)
    inner_keys = {k for inner in payload.values() for k in inner}
    if len(inner_keys & known) > outer_hits:
        return list(payload.values()), "index"
    return _columns(payload), "columns"


def _columns(payload: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    labels: dict[str, None] = {}
    for inner in payload.values():
        labels.update(dict.fromkeys(inner))
    rows = []
    for i, label in enumerate(labels):
        row = {}
        for column, inner in payload.items():
            if label not in inner:
                raise InputError(
                    f"column '{column}' has no value for row label '{label}' (send null for a missing value)",
                    row=i,
                    field=column,
                )
            row[column] = inner[label]
        rows.append(row)
    return rows


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}.get(
        type(value), "number"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
