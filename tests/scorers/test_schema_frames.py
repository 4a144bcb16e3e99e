"""The model's DataFrame built by ``Schema`` (one float block, a column index built once): the same
frame, bit for bit, as pandas builds from the rows and the list of names."""

from __future__ import annotations

import numpy as np
import pandas as pd

from scorers.input_schema import CATEGORY, NUMBER, Feature, Schema


def _numeric(width: int = 5) -> Schema:
    return Schema([Feature(f"x {j}", NUMBER, nullable=j == 0) for j in range(width)])


def test_numeric_rows_give_the_frame_pandas_builds_from_the_names() -> None:
    schema = _numeric()
    values = np.random.default_rng(0).normal(size=(7, 5)) * 10.0 ** np.arange(-3, 2)
    values[2, 0] = np.nan  # nullable
    for rows in (values.tolist(), [dict(zip(schema.names, r, strict=True)) for r in values.tolist()]):
        frame = schema.rows_to_frame(rows)
        pd.testing.assert_frame_equal(frame, pd.DataFrame(values, columns=schema.names), check_exact=True)
        assert frame.to_numpy().flags.c_contiguous
        assert np.array_equal(frame.to_numpy(), values, equal_nan=True)
    one = schema.rows_to_frame(values[:1].tolist())
    pd.testing.assert_frame_equal(one, pd.DataFrame(values[:1], columns=schema.names), check_exact=True)


def test_arrays_and_frames_in_any_column_order_give_the_same_frame() -> None:
    schema = _numeric()
    values = np.arange(15, dtype=np.int64).reshape(3, 5)
    expected = pd.DataFrame(values.astype(np.float64), columns=schema.names)
    pd.testing.assert_frame_equal(schema.validate_frame(values), expected, check_exact=True)
    shuffled = pd.DataFrame(values, columns=schema.names)[schema.names[::-1]]
    pd.testing.assert_frame_equal(schema.validate_frame(shuffled), expected, check_exact=True)
    empty = schema.validate_frame(np.zeros((0, 5)))
    assert empty.shape == (0, 5) and empty.columns.equals(expected.columns)


def test_mixed_rows_keep_their_categories_and_nulls() -> None:
    schema = Schema([Feature("age", NUMBER), Feature("housing", CATEGORY, ["own", "rent"], nullable=True)])
    frame = schema.rows_to_frame([[41.0, "rent"], {"age": 30, "housing": None}])
    expected = pd.DataFrame(
        {"age": [41.0, 30.0], "housing": np.array(["rent", np.nan], dtype=object)}, columns=schema.names
    )
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)


def test_a_frame_renamed_by_its_caller_leaves_the_schema_as_it_was() -> None:
    schema = _numeric(3)
    frame = schema.rows_to_frame([[1.0, 2.0, 3.0]])
    frame.columns = ["a", "b", "c"]
    frame["d"] = 4.0
    assert list(schema.columns) == schema.names == ["x 0", "x 1", "x 2"]
    assert list(schema.rows_to_frame([[1.0, 2.0, 3.0]]).columns) == ["x 0", "x 1", "x 2"]
