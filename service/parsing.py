"""A request body: one JSON parse into the route's pydantic model, and the checks of ``instances`` and
``top_k`` that the engine's schema does not make; refusals in our error shape.

A module of its own (no BentoML, no app), so that a job's process reads a body as the app does.
"""

from __future__ import annotations

import json
import math
from typing import Any

from pydantic import BaseModel, RootModel, ValidationError

from scorers.errors import InputError

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
    try:
        payload = json.loads(raw)
    except RecursionError:
        raise InvalidJsonError("request body is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJsonError(f"request body is not valid JSON: {exc}") from None
    if not root and not isinstance(payload, dict):
        raise InputError(f"expected a JSON object with keys {keys}, got a JSON {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _input_error(exc, keys) from None


def _input_error(exc: ValidationError, keys: list[str]) -> Exception:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or None
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
        or not math.isfinite(max_error)
        or max_error <= 0
    ):
        raise InputError(f"expected a finite number above 0, got {max_error!r}", field="max_error")
    return bool(error_estimate) or max_error is not None, None if max_error is None else float(max_error)
