"""The plain-rows path of ``Schema.rows_to_frame`` (``scorers.plain_rows``) answers exactly what the
cell-by-cell checks answer: for every input below, valid or not, the same frame to the last bit, or the
same error (its class, message, row and field), and it is taken only for rows of plain finite numbers."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scorers.input_schema import FLOAT32_MAX, NUMBER, Feature, Schema
from scorers.plain_rows import plain_block

NAMES = ["a", "b", "c"]
SCHEMA = Schema([Feature("a", NUMBER, nullable=True), Feature("b", NUMBER), Feature("c", NUMBER)])
# a model that reads float32 in b and c (scorers.magnitude): a larger magnitude is refused there
BOUNDED = Schema(
    [
        Feature("a", NUMBER, nullable=True),
        Feature("b", NUMBER, max_abs=FLOAT32_MAX),
        Feature("c", NUMBER, max_abs=FLOAT32_MAX),
    ]
)
LIMITS = np.array([np.inf, FLOAT32_MAX, FLOAT32_MAX])

# (rows, whether the plain path takes them)
CASES: list[tuple[Any, bool]] = [
    ([[1.5, -2.0, 3e-300]], True),
    ([(1.5, 2, 3)], True),
    ([{"a": 1.0, "b": 2, "c": 3.25}], True),
    ([{"c": 3.25, "b": 2, "a": 1.0}], True),  # keys in any order
    ([[0.1, 0.2, 0.3], {"b": 5, "a": -0.0, "c": 1e308}, (7, 8, 9)], True),
    ([[2**53 + 1, 2**63, -(2**64) - 1]], True),  # big integers round as float() rounds them
    ([[10**308, 1, 2]], True),
    ([[10**400, 1, 2]], False),  # beyond float64: the cell checks' own behaviour
    ([[True, 1.0, 2.0]], False),
    ([[1.0, False, 2.0]], False),
    ([[1.0, "2", 3.0]], False),
    ([[None, 1.0, 2.0]], False),  # missing where the model imputes: NaN
    ([[1.0, None, 2.0]], False),  # missing where it cannot: 400
    ([[float("nan"), 1.0, 2.0]], False),
    ([[1.0, float("nan"), 2.0]], False),
    ([[1.0, 2.0, float("inf")]], False),
    ([[1.0, 2.0, -float("inf")]], False),
    ([[np.float64(1.0), 2.0, 3.0]], False),
    ([[np.int64(1), 2.0, 3.0]], False),
    ([[1.0, 2.0]], False),
    ([[1.0, 2.0, 3.0, 4.0]], False),
    ([[[1.0], 2.0, 3.0]], False),
    ([{"a": 1.0, "b": 2.0}], False),
    ([{"a": 1.0, "b": 2.0, "d": 3.0}], False),
    ([{"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}], False),
    ([OrderedDict(a=1.0, b=2.0, c=3.0)], False),
    ([[1.0, 2.0, 3.0], [1.0, "x", 3.0]], False),
    ([[1.0, 2.0, 3.0], "row"], False),
    ([[1.0, 2.0, 3.0], 7], False),
    ([[1.0, 2.0, 3.0], None], False),
]
# (rows, whether the plain path takes them under BOUNDED)
BOUNDED_CASES: list[tuple[Any, bool]] = [
    ([[1e308, FLOAT32_MAX, -FLOAT32_MAX]], True),  # at the bound; a has none
    ([{"a": 1.0, "b": -(3 * 10**38), "c": 3.4e38}], True),
    ([[1.0, 1e300, 2.0]], False),
    ([[1.0, 2.0, -3.5e38]], False),  # just beyond float32's largest
    ([[1.0, 2.0, 3.0], {"a": 1.0, "b": 2.0, "c": 10**39}], False),
    ([[1.0, -(10**300), 2.0]], False),
    ([[1.0, 2.0, float("inf")]], False),
]
# a model that reads c as int32 (an ONNX graph's input, scorers.magnitude): a fraction is refused there
INTEGRAL = Schema(
    [Feature("a", NUMBER), Feature("b", NUMBER), Feature("c", NUMBER, max_abs=2147483647.0, integer=True)]
)
INTEGRAL_CASES: list[tuple[Any, bool]] = [
    ([[1.5, 2.5, 3], {"a": 0.1, "b": 0.2, "c": -2147483647}], True),
    ([[1.5, 2.5, 3.0]], True),  # an integral float
    ([[1.5, 2.5, 3.5]], False),
    ([[1.0, 2.0, 3.0], [1.0, 2.0, 1e-300]], False),
    ([[1.0, 2.0, 2**31]], False),  # beyond int32's range
]


def _answer(fn: Any, rows: Any) -> Any:
    """A frame's dtypes and bytes, or the error's class, message, row and field."""
    try:
        frame = fn(rows)
    except Exception as e:  # noqa: BLE001 - the error is the answer being compared
        return ("error", type(e), str(e), getattr(e, "row", None), getattr(e, "field", None))
    values = frame.to_numpy()
    return (
        "frame",
        list(frame.columns),
        list(frame.dtypes),
        frame.index.equals(pd.RangeIndex(len(rows))),
        values.flags.c_contiguous,
        values.tobytes(),
    )


@pytest.mark.parametrize(("rows", "plain"), CASES, ids=[str(i) for i in range(len(CASES))])
def test_the_plain_path_answers_what_the_cell_checks_answer(rows: Any, plain: bool) -> None:
    assert (plain_block(rows, NAMES) is not None) == plain
    assert _answer(SCHEMA.rows_to_frame, rows) == _answer(SCHEMA.cells_to_frame, rows)


@pytest.mark.parametrize(("rows", "plain"), BOUNDED_CASES, ids=[str(i) for i in range(len(BOUNDED_CASES))])
def test_the_plain_path_answers_what_the_cell_checks_answer_under_a_bound(rows: Any, plain: bool) -> None:
    assert (plain_block(rows, NAMES, LIMITS) is not None) == plain
    assert _answer(BOUNDED.rows_to_frame, rows) == _answer(BOUNDED.cells_to_frame, rows)
    if not plain:
        assert _answer(BOUNDED.rows_to_frame, rows)[0] == "error"


@pytest.mark.parametrize(("rows", "plain"), INTEGRAL_CASES, ids=[str(i) for i in range(len(INTEGRAL_CASES))])
def test_the_plain_path_answers_what_the_cell_checks_answer_for_an_integer_column(
    rows: Any, plain: bool
) -> None:
    limits, integral = np.array([np.inf, np.inf, 2147483647.0]), np.array([False, False, True])
    assert (plain_block(rows, NAMES, limits, integral) is not None) == plain
    assert _answer(INTEGRAL.rows_to_frame, rows) == _answer(INTEGRAL.cells_to_frame, rows)
    if not plain:
        assert _answer(INTEGRAL.rows_to_frame, rows)[0] == "error"


def test_random_plain_rows_give_the_cell_checks_bytes() -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(size=(40, 3)) * 10.0 ** rng.integers(-300, 300, size=(40, 3))
    rows: list[Any] = values.tolist()
    rows[::3] = [dict(zip(reversed(NAMES), reversed(r), strict=True)) for r in rows[::3]]
    rows[1::5] = [[int(v) for v in r] for r in values[1::5].round()]
    got, want = SCHEMA.rows_to_frame(rows), SCHEMA.cells_to_frame(rows)
    assert got.to_numpy().tobytes() == want.to_numpy().tobytes()
    pd.testing.assert_frame_equal(got, want, check_exact=True)


def test_a_schema_with_categories_never_takes_the_plain_path() -> None:
    from scorers.input_schema import CATEGORY

    schema = Schema([Feature("a", NUMBER), Feature("h", CATEGORY, ["own", "rent"])])
    frame = schema.rows_to_frame([[1, "own"]])
    assert frame["a"].tolist() == [1.0] and frame["h"].tolist() == ["own"]
    with pytest.raises(Exception, match="expected a string category") as err:
        schema.rows_to_frame([[1, 2]])
    assert getattr(err.value, "field", None) == "h"
