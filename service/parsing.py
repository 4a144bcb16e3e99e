"""A request body: one JSON parse into the route's pydantic model, and the checks of ``instances`` and
``top_k`` that the engine's schema does not make; refusals in our error shape.

A module of its own (no BentoML, no app), so that a job's process reads a body as the app does.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from pydantic import BaseModel, RootModel, ValidationError

from scorers.errors import InputError
from scorers.input_schema import NAN_LITERAL

from .errors import InvalidJsonError


def parse_body(raw: bytes, model: type[BaseModel]) -> BaseModel:
    """One JSON parse, then the route's model; refusals name the key and what was expected.

    A ``RootModel`` body takes any JSON value (e.g. a pandas ``to_json`` array); any other model takes
    a JSON object.
    """
    root = issubclass(model, RootModel)
    keys = sorted(model.model_fields)
    if not raw.strip():
        expected = "a JSON value" if root else f"a JSON object with keys {keys}"
        raise InvalidJsonError(f"empty request body; expected {expected}")
    payload = load_json(raw)
    if not root and not isinstance(payload, dict):
        raise InputError(f"expected a JSON object with keys {keys}, got a JSON {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _input_error(exc, keys) from None


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) < len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _DuplicateKey(key)
            seen.add(key)
    return obj


# the literals json.loads takes beyond JSON; NaN stays apart from null, the missing value (NanLiteral)
_CONSTANTS = {"NaN": NAN_LITERAL, "Infinity": math.inf, "-Infinity": -math.inf}

# a JSON escape of a UTF-16 surrogate (\ud800-\udfff): json.loads makes a lone one a str no codec writes
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def load_json(raw: bytes) -> Any:
    """A request body's JSON, refused (400 ``invalid_json``) unless every later step can take it whole: not
    JSON or not UTF-8, nested too deeply, a key twice in one object (json.loads would keep the last value
    and drop the others unsaid), an integer of more digits than Python converts (4300), or a string holding
    a lone surrogate escape (``"\\ud800"``: no valid Unicode text, which pandas, the store and the answer's
    encoder refuse).  Non-finite literals (NaN, Infinity) and integers beyond float64's range parse here and
    are refused by the field that reads them, which names it; ``NaN`` is read as ``NAN_LITERAL``, which
    no field takes for a missing value."""
    try:
        payload = json.loads(raw, object_pairs_hook=_unique_keys, parse_constant=_CONSTANTS.__getitem__)
    except RecursionError:
        raise InvalidJsonError("request body is nested too deeply") from None
    except _DuplicateKey as exc:
        raise InvalidJsonError(
            f"duplicate key '{exc.key}' in one JSON object of the request body; send each key once",
            field=exc.key,
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJsonError(f"request body is not valid JSON: {exc}") from None
    except ValueError:  # the only other refusal of json.loads: int() of a literal over 4300 digits
        raise InvalidJsonError(
            "request body holds an integer literal of more than 4300 digits; expected numbers a float64 "
            "holds (at most about 1.8e308)"
        ) from None
    if _SURROGATE_ESCAPE.search(raw) is not None:
        _check_text(payload)
    return payload


def _check_text(payload: Any) -> None:
    """Every key and string of ``payload`` is valid Unicode (no lone surrogate)."""
    stack = [payload]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value)
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise InvalidJsonError(
                    f"request body holds a string with a lone surrogate escape ({value!r:.60}); expected "
                    "valid Unicode text (a character beyond U+FFFF is a pair of escapes, high then low)"
                ) from None


_UNION_MEMBER = re.compile(r"^(float|int|str|bool|none|[a-z-]+\[.*\])$")


def _input_error(exc: ValidationError, keys: list[str]) -> Exception:
    first = exc.errors()[0]
    # the path in the body, less the names pydantic gives a union's members (``value.float``)
    where = ".".join(str(p) for p in first["loc"] if not _UNION_MEMBER.match(str(p))) or None
    if first["type"] == "extra_forbidden":
        return InputError(f"unknown key '{where}'; expected keys: {keys}", field=where)
    return InputError(first["msg"], field=where)


def check_instances(instances: Any, limit: int, per: str) -> list[Any]:
    """``instances``: a non-empty list of at most ``limit`` rows (the rows themselves are the schema's).
    ``per`` ends the row-limit message ("per request", "per job")."""
    if instances is None:
        raise InputError(
            "missing; expected a list of rows (objects keyed by feature name, or arrays)", field="instances"
        )
    if not isinstance(instances, list):
        raise InputError(f"expected a list of rows, got {type(instances).__name__}", field="instances")
    if len(instances) == 0:
        raise InputError("expected at least one row", field="instances")
    if len(instances) > limit:
        raise InputError(f"{len(instances)} rows exceed the limit of {limit} {per}", field="instances")
    return instances


def check_pairs(pairs: Any, features: list[str]) -> list[tuple[str, str]] | None:
    """``pairs`` of a JSON body: absent, or a list of [a, b] pairs of two different feature names."""
    if pairs is None:
        return None
    if not isinstance(pairs, list) or not pairs:
        raise InputError(
            f"expected a non-empty list of [feature, feature] pairs, got {pairs!r}", field="pairs"
        )
    known = set(features)
    out = []
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair)):
            raise InputError(f"pair {i}: expected [feature, feature], got {pair!r}", field="pairs")
        unknown = [p for p in pair if p not in known]
        if unknown:
            raise InputError(f"pair {i}: unknown feature {unknown[0]!r}; features: {features}", field="pairs")
        if pair[0] == pair[1]:
            raise InputError(f"pair {i}: a pair needs two different features, got {pair!r}", field="pairs")
        out.append((pair[0], pair[1]))
    return out


def check_error_options(error_estimate: Any, max_error: Any) -> tuple[bool, float | None]:
    """``error_estimate`` (absent or a boolean) and ``max_error`` (absent or a finite number > 0) of an
    ``/explain`` body; ``max_error`` implies the estimate."""
    if error_estimate is not None and not isinstance(error_estimate, bool):
        raise InputError(f"expected true or false, got {error_estimate!r}", field="error_estimate")
    if max_error is not None and (
        isinstance(max_error, bool)
        or not isinstance(max_error, (int, float))
        or not _finite(max_error)
        or max_error <= 0
    ):
        raise InputError(f"expected a finite number above 0, got {max_error!r}", field="max_error")
    return bool(error_estimate) or max_error is not None, None if max_error is None else float(max_error)


def _finite(x: float) -> bool:
    try:
        return math.isfinite(x)
    except OverflowError:  # an integer beyond float64's range
        return False
