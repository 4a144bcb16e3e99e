"""A checksum of one input partition, the same whichever engine read it.

Both readers hand the partition over as pandas, but not with the same dtypes: pyarrow gives pandas'
``str`` columns with NaN for a missing text, Spark gives ``object`` columns with None.  Values are
normalised per kind before hashing (integers as int64, other numbers as float64 with one NaN, text as
Python strings with None), so the same rows give the same checksum from either engine.  A column of any
other kind is hashed as pandas holds it; if the engines disagree on it, the partition is only recomputed.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd


def _column_bytes(col: pd.Series) -> tuple[str, bytes]:
    if pd.api.types.is_bool_dtype(col) and not col.isna().any():
        return "bool", col.to_numpy(dtype=np.uint8).tobytes()
    if pd.api.types.is_integer_dtype(col) and not col.isna().any():
        return "int", col.to_numpy(dtype=np.int64).tobytes()
    if pd.api.types.is_numeric_dtype(col) and not pd.api.types.is_bool_dtype(col):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, values + 0.0)  # one NaN payload; -0.0 -> 0.0
        return "float", values.tobytes()
    if pd.api.types.is_string_dtype(col) or col.dtype == object:
        text = col.astype(object).where(col.notna(), None)
        return "text", pd.util.hash_pandas_object(text, index=False).to_numpy().tobytes()
    return str(col.dtype), pd.util.hash_pandas_object(col, index=False).to_numpy().tobytes()


def frame_checksum(frame: pd.DataFrame) -> str:
    """sha256 over the column names, their kinds and the normalised values, in column order."""
    h = hashlib.sha256(f"rows={len(frame)}\n".encode())
    for name in frame.columns:
        kind, data = _column_bytes(frame[name])
        h.update(f"{name}\x00{kind}\x00".encode())
        h.update(hashlib.sha256(data).digest())
    return h.hexdigest()
