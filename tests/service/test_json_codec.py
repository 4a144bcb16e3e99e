"""Our JSON answers (service.json_codec) against Starlette's ``JSONResponse``, the standard library's
encoder they replaced: the same refusals (a non-finite float is never written as ``null``), and bodies
that parse back to the same values, float64 for float64, keys in the same order, the same strings."""

from __future__ import annotations

import dataclasses
import datetime
import json
import math
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.responses import JSONResponse

from service.json_codec import JSONAnswer, dumps

AWKWARD = [
    1e-7,
    2.232481251412139e-07,  # orjson writes 2.232481251412139e-7
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    -0.0,
    0.0,
    0.1,
    1 / 3,
    1e16,
    1e22,
    123456789012345680000.0,
    0,
    -3,
    2**63 - 1,
    -(2**63),
    2**64,  # beyond orjson's integers: the standard library writes it
    -(2**80),
    True,
    False,
    None,
    np.float64(0.1),  # a float subclass: the standard library writes it
    np.float64(-2.5e-300),
    'é ☃ \u2028 \x00 "q" \\ 😀',
]


def _same(a: Any, b: Any) -> bool:
    """Equal as parsed JSON, floats compared by their bits (so -0.0 is not 0.0), keys in order."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and struct.pack("<d", a) == struct.pack("<d", b)
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _outcome(make: Any, content: Any) -> tuple[str, Any]:
    try:
        return "body", json.loads(make(content).body)
    except Exception as exc:  # noqa: BLE001 - the exception's type is the outcome compared
        return "raised", type(exc)


def _as_before(content: Any) -> None:
    ours, theirs = _outcome(JSONAnswer, content), _outcome(JSONResponse, content)
    assert ours[0] == theirs[0], (content, ours, theirs)
    if ours[0] == "raised":
        assert ours[1] is theirs[1], (content, ours, theirs)
    else:
        assert _same(ours[1], theirs[1]), (content, ours, theirs)


@pytest.mark.parametrize("value", AWKWARD, ids=repr)
def test_an_awkward_value_parses_back_to_what_the_standard_library_wrote(value: Any) -> None:
    _as_before(value)
    _as_before({"a": [value, {"b": value}], "z": value})
    back = json.loads(dumps([value]))[0]
    if isinstance(value, float):
        assert struct.pack("<d", back) == struct.pack("<d", float(value))  # the same float64


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, np.float64("nan"), np.float64("-inf")])
def test_a_non_finite_float_is_refused_never_written_as_null(bad: float) -> None:
    for content in (bad, [1.0, bad], {"x": None, "values": [[0.5, bad]]}, {"row": None, "v": [bad]}):
        with pytest.raises(ValueError, match="Out of range float values are not JSON compliant"):
            dumps(content)
        _as_before(content)


def test_what_json_cannot_hold_is_refused_as_before() -> None:
    @dataclasses.dataclass
    class Point:
        x: float

    for content in (
        object(),
        {1.5, 2.5},
        np.float32(1.5),
        np.int64(3),
        np.array([1.0]),
        Point(1.0),
        datetime.datetime(2026, 12, 7),
        {"a": [object()]},
        "\ud800",  # a lone surrogate: not UTF-8
    ):
        _as_before(content)
        with pytest.raises((TypeError, ValueError)):
            dumps(content)


def test_keys_keep_their_order_and_non_string_keys_are_written_as_before() -> None:
    content = {"z": 1, "a": 2, "é": 3, "m": {"y": 1.5, "b": None}}
    assert list(json.loads(dumps(content))) == ["z", "a", "é", "m"]
    _as_before(content)
    _as_before({1: "one", 2.5: "two", None: "three", False: "four"})  # orjson refuses; json writes


def test_an_explain_answer_parses_back_identical() -> None:
    rng = np.random.default_rng(0)
    values = (rng.standard_normal((1, 2, 30)) * 10.0 ** rng.integers(-12, 3, (1, 2, 30))).tolist()
    answer = {
        "predictions": ["benign"],
        "probabilities": [[0.618045933940521, 0.38195406605947924]],
        "classes": ["benign", "malignant"],
        "features": [f"feature {i} é" for i in range(30)],
        "output_space": "raw",
        "expected_values": [0.38467843413163516, -0.38467843413163516],
        "local_importance_values": values,
    }
    _as_before(answer)
    response = JSONAnswer(answer, status_code=200)
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.body)


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included
    | st.text(),  # surrogates included
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_content_is_answered_or_refused_as_the_standard_library_does(content: Any) -> None:
    _as_before(content)
