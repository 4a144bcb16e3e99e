"""The evaluation rows as columns a served worker memory-maps (``eval_columns.arrow``), written at
packaging beside ``eval.parquet``.

Parquet is compressed and row-grouped: reading 1,000,000 rows x 30 features back into pandas takes
seconds, which a dashboard's first paint cannot wait for.  This file holds the same rows as one
uncompressed Arrow IPC file: a number feature as float64 (NaN when missing, never null), a category
feature dictionary-encoded (its values in the schema's order, then unseen ones sorted; a missing value
null), the labels dictionary-encoded too, and the positions of the rows the stored predictions are
checked on (``scorers.bulk.check_rows``, computed once here).  Opening it maps the file: a number column
is a numpy view of the mapped pages, read when a view touches it and shared by every worker through the
page cache.  The file's sha256 is checked with every artifact file when the artifact is loaded
(``artifact.verify``).  docs/decisions.md 27 says why Arrow + numpy and not DuckDB or Polars.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import ArtifactError
from .input_schema import CATEGORY, Schema

if TYPE_CHECKING:
    import pyarrow as pa

COLUMNS_FILE = "eval_columns.arrow"
LABELS = "@labels"
CHECK_ROWS = "@check_rows"

IntArray = npt.NDArray[np.int64]


def _dictionary(values: pd.Series, known: list[Any]) -> pa.DictionaryArray:
    import pyarrow as pa  # lazily: only an artifact with Arrow columns needs pyarrow

    """Codes into ``known`` then the unseen values sorted (as text); null where missing."""
    present = values.notna().to_numpy()
    seen = {str(v): v for v in values[present].unique().tolist()}
    names = [str(v) for v in known]
    cats = list(known) + [seen[s] for s in sorted(seen) if s not in set(names)]
    index = {str(c): i for i, c in enumerate(cats)}
    uniques, inverse = np.unique(values[present].astype(str).to_numpy(), return_inverse=True)
    codes = np.full(len(values), -1, dtype=np.int32)
    codes[present] = np.array([index[u] for u in uniques.tolist()], dtype=np.int32)[inverse]
    indices = pa.array(codes, mask=codes < 0, type=pa.int32())
    return pa.DictionaryArray.from_arrays(indices, pa.array(cats))


def write(
    path: Path, frame: pd.DataFrame, schema: Schema, labels: np.ndarray | None, check_rows: IntArray
) -> None:
    import pyarrow as pa
    import pyarrow.ipc as ipc

    """``frame``: validated rows (``evaluation._typed``); ``labels``: one per row or None."""
    arrays: dict[str, pa.Array] = {}
    for f in schema.features:
        col = frame[f.name]
        if f.dtype == CATEGORY:
            arrays[f.name] = _dictionary(col, list(f.categories))
        else:
            arrays[f.name] = pa.array(col.to_numpy(dtype=np.float64, na_value=np.nan))
    if labels is not None:
        arrays[LABELS] = _dictionary(pd.Series(labels, dtype=object), [])
    n = len(frame)
    marks = np.zeros(n, dtype=np.bool_)
    marks[check_rows] = True
    arrays[CHECK_ROWS] = pa.array(marks)
    table = pa.table(arrays)
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=max(n, 1))  # one record batch: every column contiguous


@dataclass(frozen=True)
class Category:
    """A dictionary-encoded column: ``codes`` (n,) int64 into ``values``, -1 when missing."""

    codes: IntArray
    values: list[Any]

    @property
    def names(self) -> list[str]:
        return [str(v) for v in self.values]

    def decode(self, rows: IntArray) -> npt.NDArray[Any]:
        """The values of some rows as objects, NaN when missing (``evaluation._typed``'s form)."""
        lookup = np.empty(len(self.values) + 1, dtype=object)
        lookup[: len(self.values)] = self.values
        lookup[-1] = np.nan
        return lookup[self.codes[rows]]


def _category(array: pa.ChunkedArray) -> Category:
    chunk = array.combine_chunks()
    codes = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return Category(codes, chunk.dictionary.to_pylist())


class EvalColumns:
    """The mapped file: ``numbers[name]`` (n,) float64 read-only views, ``categories[name]``, the
    ``labels`` (or None), ``check_rows`` (sorted positions); ``rows(ids)`` rebuilds validated rows."""

    def __init__(self, path: Path, schema: Schema) -> None:
        import pyarrow as pa
        import pyarrow.ipc as ipc

        if not path.is_file():
            raise ArtifactError(f"artifact file '{path.name}' is missing")
        self._source = pa.memory_map(str(path), "r")
        table = ipc.open_file(self._source).read_all()
        self.n_rows = table.num_rows
        self.features = [f.name for f in schema.features]
        self.numbers: dict[str, npt.NDArray[np.float64]] = {}
        self.categories: dict[str, Category] = {}
        for f in schema.features:
            if f.dtype == CATEGORY:
                self.categories[f.name] = _category(table[f.name])
            else:
                self.numbers[f.name] = table[f.name].chunk(0).to_numpy(zero_copy_only=True)
        self.labels = _category(table[LABELS]) if LABELS in table.column_names else None
        marks = table[CHECK_ROWS].combine_chunks().to_numpy(zero_copy_only=False)
        self.check_rows: IntArray = np.flatnonzero(marks).astype(np.int64)

    def rows(self, ids: IntArray) -> pd.DataFrame:
        """Validated rows at ``ids`` (the schema's columns, as ``eval_data`` holds them), index 0..k-1."""
        ids = np.asarray(ids, dtype=np.int64)
        data: dict[str, Any] = {}
        for name in self.features:
            if name in self.numbers:
                data[name] = self.numbers[name][ids]
            else:
                # objects, as eval_data holds them (pandas would infer its string dtype)
                data[name] = pd.Series(self.categories[name].decode(ids), dtype=object)
        return pd.DataFrame(data, index=pd.RangeIndex(len(ids)))


def read(path: Path, schema: Schema) -> EvalColumns:
    return EvalColumns(path, schema)
