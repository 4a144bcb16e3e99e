"""scorers.top_k: one rule and one message for ``top_k`` whatever the source (JSON body, query string,
Python caller), with and without a known number of features."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from scorers.errors import InputError
from scorers.top_k import JSON, PYTHON, QUERY, parse_top_k


@pytest.mark.parametrize(
    ("value", "source", "want"),
    [
        (None, JSON, None),
        (None, QUERY, None),
        (1, JSON, 1),
        (5, JSON, 5),
        ("3", QUERY, 3),
        ("03", QUERY, 3),
        ("005", QUERY, 5),
        (3, PYTHON, 3),
        (np.int64(4), PYTHON, 4),
        (np.int32(2), PYTHON, 2),
    ],
)
def test_accepted(value: Any, source: Any, want: int | None) -> None:
    got = parse_top_k(value, 5, source=source)
    assert got == want and (got is None or type(got) is int)


@pytest.mark.parametrize(
    ("value", "source"),
    [
        (True, JSON),
        (False, JSON),
        ("3", JSON),
        (3.0, JSON),
        (0, JSON),
        (6, JSON),
        (-1, JSON),
        ("", QUERY),
        (" 3", QUERY),
        ("3.0", QUERY),
        ("-3", QUERY),
        ("+3", QUERY),
        ("0", QUERY),
        ("6", QUERY),
        ("٣", QUERY),  # a digit, but not an ASCII one
        (3, QUERY),
        (True, PYTHON),
        (np.bool_(True), PYTHON),
        (3.0, PYTHON),
        ("3", PYTHON),
        (np.int64(0), PYTHON),
        (np.int64(6), PYTHON),
    ],
)
def test_refused_with_one_message(value: Any, source: Any) -> None:
    with pytest.raises(InputError) as err:
        parse_top_k(value, 5, source=source)
    assert err.value.field == "top_k"
    assert err.value.detail.startswith("expected an integer between 1 and 5, got ")


def test_without_a_known_width_only_the_lower_bound_applies() -> None:
    assert parse_top_k("1000000", source=QUERY) == 1_000_000
    assert parse_top_k(10**9, source=JSON) == 10**9
    with pytest.raises(InputError) as err:
        parse_top_k("0", source=QUERY, field="limit")
    assert err.value.field == "limit" and err.value.detail.startswith("expected a positive integer, got ")
