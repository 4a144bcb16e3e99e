"""The million-row engine of the dashboard against plain numpy / pandas, on a small table whose last row
(row N+1) differs from the first N: a category value the schema has not seen, an extreme number, a
missing value, a label no other row has.  An engine that drops, shifts or mis-bins the last row, or
encodes only the schema's categories, fails here."""

from __future__ import annotations

import json
import mmap
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from scorers import bulk, eval_columns
from scorers.errors import ArtifactError
from scorers.input_schema import Schema, infer_features
from service.dashboard import cohorts, metrics
from service.dashboard.schemas import Cohort
from service.dashboard.shap_sample import ShapSample
from service.dashboard.sources import Dataset, fixed_order
from service.dashboard.table import CATEGORY, NUMBER, Column

N = 240


def _table() -> tuple[pd.DataFrame, np.ndarray, Schema]:
    """N ordinary rows, then one that differs in every column; the schema knows the first N only."""
    rng = np.random.default_rng(3)
    head = pd.DataFrame(
        {
            "x": rng.normal(size=N),
            "y": np.where(np.arange(N) % 7 == 0, np.nan, rng.uniform(0, 5, N)),
            "c": rng.choice(["b", "a"], N).astype(object),
        }
    )
    schema = Schema(infer_features(head))
    last = pd.DataFrame({"x": [1e6], "y": [np.nan], "c": ["zz"]})
    frame = pd.concat([head, last], ignore_index=True)
    frame["c"] = frame["c"].astype(object)
    labels = np.array([*rng.choice(["yes", "no"], N).tolist(), "maybe"], dtype=object)
    return frame, labels, schema


@pytest.fixture(scope="module")
def mapped(tmp_path_factory: Any) -> tuple[pd.DataFrame, np.ndarray, eval_columns.EvalColumns]:
    frame, labels, schema = _table()
    out = Path(tmp_path_factory.mktemp("columns"))
    written = eval_columns.write(out, frame, schema, labels, bulk.check_rows(frame))
    assert sorted(p.name for p in out.iterdir()) == sorted(written) == sorted(eval_columns.files(out))
    return frame, labels, eval_columns.read(out, schema)


def test_the_columns_file_holds_every_row_as_pandas_has_it(
    mapped: tuple[pd.DataFrame, np.ndarray, eval_columns.EvalColumns],
) -> None:
    frame, labels, cols = mapped
    assert cols.n_rows == N + 1
    pd.testing.assert_frame_equal(cols.rows(np.arange(N + 1)), frame)
    pd.testing.assert_frame_equal(cols.rows(np.array([N, 0])), frame.iloc[[N, 0]].reset_index(drop=True))
    assert cols.numbers["x"][N] == 1e6 and np.isnan(cols.numbers["y"][N])
    # the schema's categories first (in its order), then the unseen one
    cat = cols.categories["c"]
    known = [f for f in infer_features(frame.iloc[:N]) if f.name == "c"][0].categories
    assert cat.names == [*known, "zz"]
    assert [cat.names[k] for k in cat.codes.tolist()] == frame["c"].tolist()
    assert isinstance(cols.labels, eval_columns.Category)
    assert [cols.labels.values[k] for k in cols.labels.codes.tolist()] == labels.tolist()
    assert cols.label_array().tolist() == labels.tolist()
    assert cols.check_rows.tolist() == bulk.check_rows(frame).tolist()
    assert N in cols.check_rows  # the last row is always checked


def _mapped(array: Any) -> bool:
    """Whether ``array`` is a view of a memory-mapped file (its chain of bases ends in an mmap)."""
    while isinstance(array, np.ndarray):
        array = array.base
    return isinstance(array, mmap.mmap)


def test_the_files_are_plain_memory_mapped_arrays_without_pickle(tmp_path: Path) -> None:
    """Each file opens with numpy alone, memory-mapped and without pickle: a column is a view of the
    mapped file (not a copy), and numeric labels stay numbers (no dictionary of a million values)."""
    frame, _, schema = _table()
    numeric = np.arange(N + 1, dtype=np.float64) / 4
    eval_columns.write(tmp_path, frame, schema, numeric, bulk.check_rows(frame))
    for name in eval_columns.files(tmp_path)[1:]:
        array = np.load(tmp_path / name, mmap_mode="r", allow_pickle=False)
        assert isinstance(array, np.memmap) and array.dtype.kind in "biuf", name
    cols = eval_columns.read(tmp_path, schema)
    assert _mapped(cols.numbers["x"]) and _mapped(cols.categories["c"].codes) and _mapped(cols.labels)
    assert not cols.numbers["x"].flags.writeable
    assert cols.numbers["x"].flags.c_contiguous  # column-major: a column is one contiguous run
    assert isinstance(cols.labels, np.ndarray) and cols.labels.tolist() == numeric.tolist()
    pd.testing.assert_frame_equal(cols.rows(), frame)
    with pytest.raises(ArtifactError, match="other features"):
        eval_columns.read(tmp_path, Schema(infer_features(frame[["x", "y"]])))
    np.save(tmp_path / eval_columns.RANK, np.zeros(N, dtype=np.int64))  # one position short
    with pytest.raises(ArtifactError, match="eval.rank.npy"):
        eval_columns.read(tmp_path, schema)
    (tmp_path / eval_columns.CODES).unlink()
    with pytest.raises(ArtifactError, match="eval.codes.npy"):
        eval_columns.read(tmp_path, schema)


def test_the_fixed_order_is_stored_with_the_rows_and_computed_for_older_rows(tmp_path: Path) -> None:
    """Packaging stores the one fixed random order and its ranks beside the rows (mapped, not computed
    in each worker); rows written before them (an index without the files) get the same values computed."""
    frame, labels, schema = _table()
    eval_columns.write(tmp_path, frame, schema, labels, bulk.check_rows(frame))
    cols = eval_columns.read(tmp_path, schema)
    order, rank = cols.fixed_order()
    assert _mapped(order) and _mapped(rank)
    expected_order = np.random.default_rng(0).permutation(N + 1)  # the order every sample walks
    assert order.tolist() == expected_order.tolist()
    assert rank[order].tolist() == list(range(N + 1))  # each row's rank: its position in the order
    index_path = tmp_path / eval_columns.INDEX_FILE
    index = json.loads(index_path.read_text())
    index["files"] = [f for f in index["files"] if f not in (eval_columns.ORDER, eval_columns.RANK)]
    index_path.write_text(json.dumps(index))
    older = eval_columns.read(tmp_path, schema)
    assert older.order is None and older.rank is None
    computed = older.fixed_order()
    assert not _mapped(computed[0])
    assert computed[0].tolist() == order.tolist() and computed[1].tolist() == rank.tolist()


@pytest.mark.parametrize("bins", [2, 7, 30])
def test_bins_count_what_numpy_histogram_counts(bins: int) -> None:
    rng = np.random.default_rng(bins)
    values = np.append(rng.normal(size=N), 50.0)  # the extreme last row sets the last edge
    values[::11] = np.nan
    values[5] = np.inf
    edges = metrics.edges(values, bins)
    finite = values[np.isfinite(values)]
    assert metrics.counts(values, edges) == np.histogram(finite, bins=edges)[0].tolist()
    cells = metrics.bin_index(values, edges)
    assert cells[-1] == bins - 1  # the maximum is in the last, closed bin
    assert set(cells[~np.isfinite(values)].tolist()) == {bins}
    # a cohort's counts by colour group: the same as pandas' crosstab of group x bin of the cohort
    groups = rng.integers(0, 3, values.size)
    keep = values > -0.5
    keep[-1] = True
    table = metrics.grouped_counts(groups[keep], cells[keep], 3, bins + 1)
    cut = pd.cut(values[keep], edges, include_lowest=True, labels=False)
    expected = pd.crosstab(groups[keep], np.where(np.isnan(cut), bins, cut).astype(int))
    expected = expected.reindex(index=range(3), columns=range(bins + 1), fill_value=0)
    assert table == expected.to_numpy().tolist()


def _dataset(cols: eval_columns.EvalColumns, with_order: bool) -> Dataset:
    order, rank = fixed_order(cols.n_rows)
    cat = cols.categories["c"]
    columns = {
        "x": Column("x", "x", "feature", NUMBER, cols.numbers["x"]),
        "y": Column("y", "y", "feature", NUMBER, cols.numbers["y"]),
        "c": Column("c", "c", "feature", CATEGORY, cat.codes, cat.names),
    }
    return Dataset(
        key="eval",
        title="t",
        kind="rows",
        n_rows=cols.n_rows,
        features=cols.features,
        classes=None,
        class_values=None,
        columns=columns,
        output_space="raw",
        fidelity=None,
        pred=np.zeros(cols.n_rows),
        proba=None,
        truth=None,
        rank=rank,
        shap=ShapSample(np.zeros(0, dtype=np.int64), None),
        take_rows=cols.rows,
        order=order if with_order else None,
    )


def test_cohorts_select_what_pandas_selects(
    mapped: tuple[pd.DataFrame, np.ndarray, eval_columns.EvalColumns],
) -> None:
    frame, _, cols = mapped
    ds = _dataset(cols, with_order=True)
    cases = [
        ([{"field": "c", "op": "in", "value": ["zz"]}], frame["c"] == "zz"),
        ([{"field": "c", "op": "not_in", "value": ["a"]}], frame["c"].notna() & (frame["c"] != "a")),
        (
            [{"field": "x", "op": "gt", "value": 1.0}, {"field": "y", "op": "missing"}],
            (frame["x"] > 1) & frame["y"].isna(),
        ),
        (
            [{"field": "c", "op": "in", "value": ["a", "zz"]}, {"field": "x", "op": "ge", "value": 0}],
            frame["c"].isin(["a", "zz"]) & (frame["x"] >= 0),
        ),
    ]
    for filters, expected in cases:
        got = cohorts.mask(ds, Cohort(name="k", filters=filters))
        assert got.tolist() == expected.to_numpy(dtype=bool).tolist(), filters
    assert cohorts.mask(ds, Cohort(name="k", filters=cases[0][0])).nonzero()[0].tolist() == [N]
    # the sample walks the fixed order: the same rows as the lowest ranks of the mask
    plain = _dataset(cols, with_order=False)
    for filters, _ in cases:
        m = cohorts.mask(ds, Cohort(name="k", filters=filters))
        for k in (1, 5, 1000):
            assert cohorts.sample(ds, m, k).tolist() == cohorts.sample(plain, m, k).tolist()
    everything = np.ones(N + 1, dtype=bool)
    assert cohorts.sample(ds, everything, N + 1).tolist() == list(range(N + 1))
