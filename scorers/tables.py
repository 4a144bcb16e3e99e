"""Tables of raw rows: the training and evaluation data a user passes, read into a DataFrame."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import InputError


def read_table(
    data: pd.DataFrame | np.ndarray | str | Path, feature_names: Sequence[str] | None = None
) -> pd.DataFrame:
    """Rows as a DataFrame: a DataFrame, an array (with names), or a CSV / Parquet path."""
    if isinstance(data, (str, Path)):
        path = Path(data)
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        if path.suffix.lower() == ".csv":
            return pd.read_csv(path)
        raise InputError(f"expected a .csv or .parquet file, got '{path.name}'", field="data")
    if isinstance(data, pd.DataFrame):
        return string_columns(data.reset_index(drop=True))
    arr = np.asarray(data)
    names = list(feature_names) if feature_names is not None else [f"x{j}" for j in range(arr.shape[1])]
    return pd.DataFrame(arr, columns=names)


def string_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame with its column names as strings (``0`` -> ``'0'``): a schema's features are named by
    strings, so training rows and rows to explain are matched to them by the same rule.  A name that
    appears twice (after ``str``) is refused: no feature could be told from the other."""
    named = all(isinstance(c, str) for c in frame.columns)
    if named and frame.columns.is_unique:  # every frame a caller names by strings: nothing to do
        return frame
    names = pd.Index([str(c) for c in frame.columns])
    twice = names.duplicated()
    if twice.any():
        first = names[twice.argmax()]
        raise InputError(f"column '{first}' appears more than once; name each column once", field=first)
    return frame if named else frame.set_axis(names, axis=1)
