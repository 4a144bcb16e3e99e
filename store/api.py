"""The ``/explanations`` routes as plain functions: parsed JSON and query values in, JSON-able out.

No web framework here: the service mounts these (``POST /explanations`` -> :func:`upload`,
``GET /explanations`` -> :func:`list_`, ``GET /explanations/{id}`` -> :func:`get`,
``DELETE /explanations/{id}`` -> :func:`delete`) and maps the errors they raise by their ``status``
(``InputError`` 400, ``ExplanationNotFound`` 404, ``ExplanationTooLarge`` 413).  Query values may come
as the strings of a query string; they are parsed and checked here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from scorers.errors import InputError
from scorers.top_k import QUERY, parse_top_k

from . import codec
from .errors import ExplanationTooLarge
from .records import Record
from .repository import SOURCES, ExplanationStore, Filters, check_kind
from .schemas import ModelRef, UploadBody

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


# ------------------------------------------------------------------------------------ query values
def parse_bool(value: Any, field: str) -> bool | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"expected true or false, got {value!r}", field=field)


def parse_source(value: Any, field: str = "source") -> str | None:
    """``upload`` (default), ``recorded`` (sampled /explain answers) or ``all``."""
    if value is None or value == "":
        return SOURCES[0]
    if value == "all":
        return None
    if value not in SOURCES:
        raise InputError(f"expected one of {', '.join(SOURCES)} or all, got {value!r}", field=field)
    return str(value)


def engineered_filter(raw: bool | None, engineered: bool | None) -> bool | None:
    """The seed's ``raw=``/``engineered=`` flags as one filter on the engineered column (None: any)."""
    if raw and engineered:
        return None
    if raw or engineered:
        return bool(engineered)
    if raw is False and engineered is False:
        raise InputError("raw=False and engineered=False exclude every explanation", field="raw")
    if raw is False:
        return True
    if engineered is False:
        return False
    return None


def parse_model(model: Any, field: str = "model") -> tuple[str | None, str | None]:
    """``"name[:version]"``, ``{"name", "version"}``, or an object with ``.tag`` or ``.name``/``.version``."""
    if model is None:
        return None, None
    if isinstance(model, ModelRef):
        return model.name, model.version
    if isinstance(model, str):
        name, _, version = model.partition(":")
        if not name:
            raise InputError(f"expected 'name' or 'name:version', got {model!r}", field=field)
        ref = codec.validate_model(ModelRef, {"name": name, "version": version or None}, field)
        return ref.name, ref.version
    if isinstance(model, dict):
        ref = codec.validate_model(ModelRef, model, field)
        return ref.name, ref.version
    tag = getattr(model, "tag", None)
    holder = tag if tag is not None and hasattr(tag, "name") else model
    found = getattr(holder, "name", None)
    if isinstance(found, str) and found:
        found_version = getattr(holder, "version", None)
        return found, None if found_version is None else str(found_version)
    raise InputError(
        f"expected 'name[:version]', {{'name', 'version'}} or a model with a tag, got {type(model).__name__}",
        field=field,
    )


# ------------------------------------------------------------------------------------ shared logic
def save(
    store: ExplanationStore,
    record: Record,
    *,
    max_bytes: int,
    top_k: int | None = None,
    comment: str | None = None,
    model: Any = None,
    true_ys: Any = None,
    engineered: bool | None = None,
) -> str:
    """Trim, label, check the size of and store one explanation; its id."""
    if comment is not None:
        codec.adapt(codec.COMMENT, comment, "comment")
    name, version = parse_model(model)
    if true_ys is not None:
        record = codec.with_true_ys(record, true_ys)
    if engineered is not None:
        record = replace(record, engineered=engineered)
    record = record.trimmed(top_k)
    codec.check_size(record, max_bytes)
    return store.add(record, comment=comment, model_name=name, model_version=version)


def _estimated_bytes(explanation: dict[str, Any]) -> int:
    """8 bytes per number of the biggest array, from list lengths only (before any validation)."""
    data = explanation.get("local_importance_values", explanation.get("per_class"))
    count = 1
    while isinstance(data, list) and data:
        count *= len(data)
        data = data[0]
    if isinstance(data, dict) and data:  # per_class {class: {feature: v}}
        count = len(data) * len(next(iter(data.values())) or {})
    return 8 * count


# ------------------------------------------------------------------------------------ handlers
def upload(store: ExplanationStore, payload: Any, max_bytes: int) -> dict[str, Any]:
    """``POST /explanations``: ``{"explanation", "comment"?, "top_k"?, "model"?, "true_ys"?,
    "engineered"?}`` (a dict, or the ``UploadBody`` a route table parsed it into) -> ``{"id"}``."""
    if isinstance(payload, UploadBody):  # already parsed by a route table
        body = payload
    elif isinstance(payload, dict):
        body = codec.validate_model(UploadBody, payload, "")
    else:
        raise InputError(f"expected a JSON object with 'explanation', got {type(payload).__name__}")
    estimate = _estimated_bytes(body.explanation)
    if body.top_k is None and estimate > max_bytes:
        raise ExplanationTooLarge(
            f"about {estimate} bytes of numbers, over the limit of {max_bytes} per upload; upload fewer rows "
            "or use top_k",
            field="explanation",
        )
    record = codec.from_json(body.explanation)
    explanation_id = save(
        store,
        record,
        max_bytes=max_bytes,
        top_k=body.top_k,
        comment=body.comment,
        model=body.model,
        true_ys=body.true_ys,
        engineered=body.engineered,
    )
    return {"id": explanation_id}


SQL_LIMIT_MAX = 2**63 - 1  # a LIMIT beyond a signed 64-bit integer is an error in SQLite and PostgreSQL


def list_(
    store: ExplanationStore,
    comment: str | None = None,
    kind: str | None = None,
    raw: Any = None,
    engineered: Any = None,
    source: Any = None,
    limit: Any = None,
) -> list[dict[str, Any]]:
    """``GET /explanations?comment=&kind=&raw=&engineered=&source=&limit=``: metadata, newest first."""
    filters = Filters(
        comment=comment or None,
        kind=check_kind(kind or None),
        engineered=engineered_filter(parse_bool(raw, "raw"), parse_bool(engineered, "engineered")),
        source=parse_source(source),
    )
    count = parse_top_k(limit, SQL_LIMIT_MAX, source=QUERY, field="limit")
    return [m.to_json() for m in store.list(filters, limit=count)]


def get(store: ExplanationStore, explanation_id: str, top_k: Any = None) -> dict[str, Any]:
    """``GET /explanations/{id}?top_k=K`` -> ``{"meta": {...}, "explanation": {...}}``."""
    meta, record = store.get(explanation_id)
    return {
        "meta": meta.to_json(),
        "explanation": codec.to_json(record.trimmed(parse_top_k(top_k, source=QUERY))),
    }


def delete(store: ExplanationStore, explanation_id: str) -> dict[str, Any]:
    """``DELETE /explanations/{id}`` -> ``{"id", "deleted": true}``."""
    store.delete(explanation_id)
    return {"id": explanation_id, "deleted": True}
