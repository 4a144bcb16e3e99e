"""Input tables: the format of a path, streaming partitions of exactly ``rows_per_task`` rows, and the
one parsing step CSV needs.

CSV has no types, so every CSV column is read as text (both engines: Spark's CSV reader does the same);
the numeric features are then parsed as numbers.  A cell that is not a number stays text, so the
validator rejects it with its own row and field rather than the whole column being read as text.
Category features, identifiers and every other column stay text.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .errors import BatchError

PARQUET = "parquet"
CSV = "csv"
_NAN_TEXT = {"nan", "+nan", "-nan"}

if TYPE_CHECKING:
    import pyarrow as pa


def input_format(path: str | Path) -> str:
    suffix = Path(str(path)).suffix.lower()
    if suffix in (".parquet", ".pq"):
        return PARQUET
    if suffix == ".csv":
        return CSV
    raise BatchError(f"expected a .parquet or .csv input, got '{Path(str(path)).name}'")


def parse_csv_numbers(frame: pd.DataFrame, numeric: list[str]) -> pd.DataFrame:
    """Numeric features of a CSV partition as float64; a cell that is no number stays as its text."""
    out = frame.copy()
    for name in numeric:
        if name not in out.columns:
            continue
        text = out[name]
        if pd.api.types.is_numeric_dtype(text):
            continue
        text = text.astype(object).where(text.notna(), None)
        stripped = text.map(lambda v: v.strip() if isinstance(v, str) else v)
        numbers = pd.to_numeric(stripped.where(stripped != "", None), errors="coerce")
        is_nan_text = stripped.map(lambda v: isinstance(v, str) and v.lower() in _NAN_TEXT)
        bad = numbers.isna().to_numpy() & text.notna().to_numpy() & ~is_nan_text.to_numpy(dtype=bool)
        bad &= stripped.map(lambda v: v != "").to_numpy(dtype=bool)
        if bad.any():
            mixed = numbers.astype(object)
            mixed[bad] = text[bad]
            out[name] = mixed
        else:
            out[name] = numbers.astype(np.float64)
    return out


def count_rows(path: str | Path, fmt: str) -> int | None:
    """Row count when it is free (Parquet footer); None for CSV."""
    if fmt == PARQUET:
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(str(path)).metadata.num_rows)
    return None


def _parquet_tables(path: str | Path, rows_per_task: int) -> Iterator[pa.Table]:
    # pyarrow imported here: the serving image's explain jobs import this package without it
    import pyarrow as pa
    import pyarrow.parquet as pq

    """Record batches regrouped into tables of exactly ``rows_per_task`` rows (the last may be short)."""
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in pq.ParquetFile(str(path)).iter_batches(batch_size=min(rows_per_task, 65536)):
        pending.append(batch)
        held += batch.num_rows
        while held >= rows_per_task:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows_per_task)
            rest = table.slice(rows_per_task)
            pending = rest.to_batches()
            held = rest.num_rows
    if held:
        yield pa.Table.from_batches(pending)


def read_partitions(
    path: str | Path, fmt: str, rows_per_task: int
) -> Iterator[tuple[int, int, pd.DataFrame]]:
    """``(part, first_row, frame)`` for each partition, in order, streaming (one partition in memory)."""
    if rows_per_task < 1:
        raise BatchError(f"--rows-per-task must be at least 1, got {rows_per_task}")
    if not Path(str(path)).is_file():
        raise BatchError(f"input '{path}' is not a file")
    if fmt == PARQUET:
        tables: Iterator[pd.DataFrame] = (t.to_pandas() for t in _parquet_tables(path, rows_per_task))
    else:
        tables = pd.read_csv(
            str(path), dtype=str, keep_default_na=False, na_values=[""], chunksize=rows_per_task
        )
    first = 0
    for part, frame in enumerate(tables):
        frame = frame.reset_index(drop=True)
        yield part, first, frame
        first += len(frame)
