"""Shared checks of the codec: field paths, pydantic errors as ``InputError``, lengths, labels.

Every error names its field as a path (``explanation.local_importance_values[3][1]``) and says what was
expected, because the service shows it to API clients as it is.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
from pydantic import BaseModel, TypeAdapter, ValidationError

from scorers.errors import InputError
from scorers.spaces import SPACES

from .. import schemas
from ..records import LOCAL

ROOT = "explanation"
MAX_INFO_BYTES = 64 * 1024
NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
SPACE_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
MATRIX = TypeAdapter(list[list[schemas.Finite]])
VECTOR = TypeAdapter(list[schemas.Finite])
BY_CLASS = TypeAdapter(dict[str, dict[str, schemas.Finite]])
BY_FEATURE = TypeAdapter(dict[str, schemas.Finite])
LABELS = TypeAdapter(list[schemas.Label])
NAMES = TypeAdapter(list[schemas.Name])
COMMENT = TypeAdapter(schemas.Comment)
SCORER = TypeAdapter(schemas.Scorer)


def where(*parts: str | int) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else p)
    return out


def validation_error(exc: ValidationError, prefix: str, model: type[BaseModel] | None = None) -> InputError:
    """The first pydantic error as an InputError naming its path and what was expected."""
    err = exc.errors(include_url=False)[0]
    field = where(prefix, *err["loc"])
    if err["type"] == "missing":
        return InputError("required field is missing", field=field)
    if err["type"] == "extra_forbidden":
        accepted = ", ".join(model.model_fields) if model else "see docs/store.md"
        return InputError(f"unknown field; accepted fields are: {accepted}", field=field)
    msg = err["msg"].removeprefix("Value error, ")
    if msg[1:2].islower():  # "Input should be ..." reads as the tail of "field 'x': ..."
        msg = msg[:1].lower() + msg[1:]
    if err["type"] == "value_error":  # our own validators' messages say what they got
        return InputError(msg, field=field)
    shown = repr(err.get("input"))
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return InputError(f"{msg}, got {shown}", field=field)


def validate_model(model: type[BaseModel], data: Any, prefix: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, prefix, model) from None


def adapt(adapter: TypeAdapter[Any], data: Any, field: str) -> Any:
    try:
        return adapter.validate_python(data)
    except ValidationError as exc:
        raise validation_error(exc, field) from None


# ------------------------------------------------------------------------------------------- shapes
def check_grid(field: str, data: Sequence[Any], dims: Sequence[tuple[int, str]]) -> None:
    """Every nesting level has the expected length; the first that has not is named."""
    size, what = dims[0]
    if len(data) != size:
        raise InputError(f"expected {size} entries ({what}), got {len(data)}", field=field)
    if len(dims) > 1:
        for i, sub in enumerate(data):
            check_grid(where(field, i), sub, dims[1:])


def check_unique(field: str, names: Sequence[Any], what: str) -> None:
    seen: set[str] = set()
    for i, n in enumerate(names):
        key = str(n)
        if key in seen:
            raise InputError(f"duplicate {what} {n!r}; expected unique {what}s", field=where(field, i))
        seen.add(key)


def check_finite(field: str, a: npt.NDArray[Any]) -> None:
    bad = np.argwhere(~np.isfinite(a))
    if len(bad):
        idx = tuple(int(i) for i in bad[0])
        raise InputError(f"expected finite numbers, got {a[idx]!r}", field=where(field, *idx))


def check_shape(field: str, a: npt.NDArray[Any], shape: tuple[int, ...], what: str) -> None:
    if a.shape != shape:
        raise InputError(f"expected shape {shape} ({what}), got {a.shape}", field=field)


def check_space(field: str, space: str, kind: str) -> None:
    if kind in (LOCAL, "shap"):
        if space not in SPACES:
            raise InputError(f"expected one of {', '.join(SPACES)}, got {space!r}", field=field)
    elif not SPACE_NAME.match(space):
        raise InputError(f"expected a lower-case name, got {space!r}", field=field)


def jsonable(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def check_info(field: str, info: Mapping[str, Any]) -> dict[str, Any]:
    info = dict(info)

    def check(v: Any, path: str) -> None:
        if isinstance(v, float) and not math.isfinite(v):
            raise InputError(f"expected finite numbers, got {v!r}", field=path)
        if isinstance(v, str) and "\x00" in v:
            raise InputError(f"expected text without NUL characters, got {v[:40]!r}", field=path)
        if isinstance(v, dict):
            for k, x in v.items():
                check(k, path)
                check(x, where(path, str(k)))
        elif isinstance(v, list):
            for i, x in enumerate(v):
                check(x, where(path, i))

    check(info, field)
    try:
        size = len(json.dumps(info))
    except (TypeError, ValueError) as exc:
        raise InputError(f"expected JSON values: {exc}", field=field) from None
    if size > MAX_INFO_BYTES:
        raise InputError(f"{size} bytes of JSON; at most {MAX_INFO_BYTES} expected", field=field)
    return info


# ------------------------------------------------------------------------------------------- labels
def encode_labels(field: str, labels: Any, classes: list[Any] | None, n: int) -> npt.NDArray[Any]:
    """Labels as int64 indices into ``classes`` (classifiers) or float64 numbers (regressors)."""
    if hasattr(labels, "tolist"):
        labels = labels.tolist()
    labels = [jsonable(v) for v in labels] if isinstance(labels, list | tuple) else labels
    if classes is None:
        out = np.asarray(adapt(VECTOR, labels, field), dtype=np.float64)
    else:
        index = {str(c): i for i, c in enumerate(classes)}
        items = adapt(LABELS, labels, field)
        missing = next((i for i, v in enumerate(items) if str(v) not in index), None)
        if missing is not None:
            raise InputError(
                f"label {items[missing]!r} is not one of the classes {classes}", field=where(field, missing)
            )
        out = np.asarray([index[str(v)] for v in items], dtype=np.int64)
    if len(out) != n:
        raise InputError(f"expected {n} labels (one per row), got {len(out)}", field=field)
    return out


def decode_labels(a: npt.NDArray[Any], classes: list[Any] | None) -> list[Any]:
    if classes is None:
        return [float(v) for v in a]
    return [classes[int(i)] for i in a]
