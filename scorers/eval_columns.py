"""The evaluation rows' one stored form: column-major ``.npy`` files a served worker memory-maps, with
a JSON index (``eval.json``), written once at packaging and read by both the evaluation rows
(``scorers.evaluation``) and the dashboard (``service.dashboard.sources``).

Files, each listed in the manifest with its sha256 (checked when the artifact is loaded,
``artifact.verify``), all read with ``np.load(path, mmap_mode="r", allow_pickle=False)``:

- ``eval.numbers.npy``: rows x number features, float64, Fortran order (each column contiguous), NaN
  when missing;
- ``eval.codes.npy``: rows x category features, int64, Fortran order: positions into the feature's
  values in the index (the schema's values in its order, then unseen ones sorted as text), -1 missing;
- ``eval.labels.npy`` (when there are labels): numbers or booleans as they are, else int64 codes into
  the index's label values (-1 missing);
- ``eval.check_rows.npy``: sorted positions of the rows the stored predictions are checked on
  (``scorers.bulk.check_rows``, computed once here);
- ``eval.order.npy`` and ``eval.rank.npy``: the one fixed random order of the rows and each row's rank in
  it (``scorers.eval_sample.fixed_order``, int64), computed once here instead of in every worker (0.2-0.3 s
  for a million rows); rows written before them have neither, and a worker computes them (the same values);
- ``eval.json``: the number and category features in file order, each category's values, the labels'
  form and values.  JSON holds the only non-numeric values: no pickle anywhere.

Opening maps the files: a column is a numpy view of mapped pages, read when a view touches it and shared
by every worker through the page cache; nothing needs pyarrow (docs/decisions.md 27 and 30).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import ArtifactError
from .eval_sample import fixed_order
from .input_schema import CATEGORY, Schema

INDEX_FILE = "eval.json"
NUMBERS, CODES, LABELS, CHECK_ROWS, ORDER, RANK = (
    "eval.numbers.npy",
    "eval.codes.npy",
    "eval.labels.npy",
    "eval.check_rows.npy",
    "eval.order.npy",
    "eval.rank.npy",
)
FORMAT = 1

IntArray = npt.NDArray[np.int64]


def files(directory: Path) -> list[str]:
    """The files of the rows stored in ``directory`` (the index first), as its index names them."""
    return [INDEX_FILE, *_index(directory / INDEX_FILE)["files"]]


def _plain(v: Any) -> Any:
    """A JSON value: numpy scalars as Python's, NaN (a missing value) as null."""
    v = v.item() if isinstance(v, np.generic) else v
    return None if isinstance(v, float) and np.isnan(v) else v


def _encode(values: pd.Series, known: list[Any]) -> tuple[IntArray, list[Any]]:
    """Codes into ``known`` then the unseen values sorted (as text); -1 where missing."""
    present = values.notna().to_numpy()
    names = {str(v) for v in known}
    seen = {str(v): v for v in values[present].unique().tolist()}
    cats = [_plain(v) for v in known] + [_plain(seen[s]) for s in sorted(seen) if s not in names]
    index = {str(c): i for i, c in enumerate(cats)}
    uniques, inverse = np.unique(values[present].astype(str).to_numpy(), return_inverse=True)
    codes = np.full(len(values), -1, dtype=np.int64)
    codes[present] = np.array([index[u] for u in uniques.tolist()], dtype=np.int64)[inverse]
    return codes, cats


def write(
    directory: Path, frame: pd.DataFrame, schema: Schema, labels: np.ndarray | None, check_rows: IntArray
) -> list[str]:
    """``frame``: validated rows (``evaluation._typed``); ``labels``: one per row or None.  Returns the
    files written (the index first)."""
    numeric = [f.name for f in schema.features if f.dtype != CATEGORY]
    coded = {f.name: list(f.categories) for f in schema.features if f.dtype == CATEGORY}
    n = len(frame)
    numbers = np.empty((n, len(numeric)), dtype=np.float64, order="F")
    for j, name in enumerate(numeric):
        numbers[:, j] = frame[name].to_numpy(dtype=np.float64, na_value=np.nan)
    codes = np.empty((n, len(coded)), dtype=np.int64, order="F")
    categories: dict[str, list[Any]] = {}
    for j, (name, known) in enumerate(coded.items()):
        codes[:, j], categories[name] = _encode(frame[name], known)
    written = [NUMBERS, CODES, CHECK_ROWS, ORDER, RANK]
    for name in [INDEX_FILE, LABELS, *written]:  # a new file, not the one a loaded artifact has mapped
        (directory / name).unlink(missing_ok=True)
    np.save(directory / NUMBERS, numbers, allow_pickle=False)
    np.save(directory / CODES, codes, allow_pickle=False)
    np.save(directory / CHECK_ROWS, np.asarray(check_rows, dtype=np.int64), allow_pickle=False)
    order, rank = fixed_order(n)
    np.save(directory / ORDER, order, allow_pickle=False)
    np.save(directory / RANK, rank, allow_pickle=False)
    label_values: list[Any] | None = None
    if labels is not None:
        if labels.dtype.kind in "biuf":
            stored = np.asarray(labels)
        else:
            stored, label_values = _encode(pd.Series(labels, dtype=object), [])
        np.save(directory / LABELS, stored, allow_pickle=False)
        written.append(LABELS)
    index = {
        "format": FORMAT,
        "rows": n,
        "numbers": numeric,
        "categories": categories,
        "labels": None if labels is None else {"values": label_values},
        "files": written,
    }
    (directory / INDEX_FILE).write_text(json.dumps(index))
    return [INDEX_FILE, *written]


@dataclass(frozen=True)
class Category:
    """A dictionary-encoded column: ``codes`` (n,) int64 into ``values``, -1 when missing."""

    codes: IntArray
    values: list[Any]

    @property
    def names(self) -> list[str]:
        return [str(v) for v in self.values]

    def decode(self, rows: IntArray | None = None) -> npt.NDArray[Any]:
        """The values of some rows (all: None) as objects, NaN when missing (``evaluation._typed``'s form)."""
        lookup = np.empty(len(self.values) + 1, dtype=object)
        lookup[: len(self.values)] = self.values
        lookup[-1] = np.nan
        return lookup[self.codes if rows is None else self.codes[rows]]


def _index(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ArtifactError(f"artifact file '{path.name}' is missing")
    try:
        index = json.loads(path.read_text())
    except ValueError as e:
        raise ArtifactError(f"artifact file '{path.name}' is not JSON: {e}") from e
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ArtifactError(f"artifact file '{path.name}': expected format {FORMAT} evaluation rows")
    return index


def mapped(path: Path) -> npt.NDArray[Any]:
    """A stored ``.npy`` file as a read-only numpy view of its mapped pages (no pickle)."""
    if not path.is_file():
        raise ArtifactError(f"artifact file '{path.name}' is missing")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as e:
        raise ArtifactError(f"artifact file '{path.name}' is not a numpy array: {e}") from e
    return array.view(np.ndarray)  # a plain view of the mapped pages (read-only)


class EvalColumns:
    """The mapped rows: ``numbers[name]`` (n,) float64 read-only views, ``categories[name]``, the
    ``labels`` (a Category, an array of numbers, or None), ``check_rows`` (sorted positions), the fixed
    ``order`` and ``rank`` (None for rows written before they were stored); ``rows(ids)`` rebuilds
    validated rows."""

    def __init__(self, directory: Path, schema: Schema) -> None:
        index = _index(directory / INDEX_FILE)
        self.n_rows = int(index["rows"])
        self.features = [f.name for f in schema.features]
        numbers, codes = mapped(directory / NUMBERS), mapped(directory / CODES)
        expected = [f.name for f in schema.features if f.dtype != CATEGORY]
        coded = [f.name for f in schema.features if f.dtype == CATEGORY]
        if index["numbers"] != expected or list(index["categories"]) != coded:
            raise ArtifactError(f"artifact file '{INDEX_FILE}' names other features than the schema's")
        if numbers.shape != (self.n_rows, len(expected)) or codes.shape != (self.n_rows, len(coded)):
            raise ArtifactError(f"artifact files '{NUMBERS}' / '{CODES}' do not hold {self.n_rows} rows")
        self.numbers: dict[str, npt.NDArray[np.float64]] = {n: numbers[:, j] for j, n in enumerate(expected)}
        self.categories = {n: Category(codes[:, j], index["categories"][n]) for j, n in enumerate(coded)}
        self.labels: Category | npt.NDArray[Any] | None = None
        if index["labels"] is not None:
            stored = mapped(directory / LABELS)
            values = index["labels"]["values"]
            self.labels = stored if values is None else Category(stored, values)
        self.check_rows: IntArray = np.asarray(mapped(directory / CHECK_ROWS), dtype=np.int64)
        self.order: IntArray | None = None
        self.rank: IntArray | None = None
        if ORDER in index["files"] and RANK in index["files"]:
            order, rank = mapped(directory / ORDER), mapped(directory / RANK)
            if order.shape != (self.n_rows,) or rank.shape != order.shape or order.dtype != np.int64:
                raise ArtifactError(
                    f"artifact files '{ORDER}' / '{RANK}' do not hold {self.n_rows} positions"
                )
            self.order, self.rank = order, rank

    def fixed_order(self) -> tuple[IntArray, IntArray]:
        """The fixed random order and the ranks: stored at packaging, or computed (the same values)."""
        if self.order is not None and self.rank is not None:
            return self.order, self.rank
        return fixed_order(self.n_rows)

    def label_array(self) -> np.ndarray | None:
        """Every row's label: numbers as stored, other labels as objects (NaN when missing)."""
        if isinstance(self.labels, Category):
            return self.labels.decode()
        return None if self.labels is None else np.array(self.labels)

    def rows(self, ids: IntArray | None = None) -> pd.DataFrame:
        """Validated rows at ``ids`` (all: None; the schema's columns, as ``eval_data`` holds them, copied
        out of the mapped files), index 0..k-1."""
        if ids is not None:
            ids = np.asarray(ids, dtype=np.int64)
        data: dict[str, Any] = {}
        for name in self.features:
            if name in self.numbers:
                data[name] = np.array(self.numbers[name] if ids is None else self.numbers[name][ids])
            else:
                # objects, as eval_data holds them (pandas would infer its string dtype)
                data[name] = pd.Series(self.categories[name].decode(ids), dtype=object)
        return pd.DataFrame(data, index=pd.RangeIndex(self.n_rows if ids is None else len(ids)))


def read(directory: Path, schema: Schema) -> EvalColumns:
    return EvalColumns(directory, schema)
