"""The raw input schema: which columns a model takes, of which type, and how rows are validated.

Validation never coerces: a string where a number is expected, a boolean, a non-finite number or a
null where the model cannot impute are errors that name the row and the field.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .errors import InputError, MissingFeatureError, UnknownFeatureError, WrongTypeError, WrongWidthError
from .plain_rows import fractional, plain_block
from .tables import string_columns

NUMBER = "number"
CATEGORY = "category"
# float32's largest value as its shortest decimal: every float64 up to it casts to a finite float32
FLOAT32_MAX = 3.4028235e38
# the largest magnitude of each number type narrower than float64 that a model may read its input as
# (an ONNX graph's declared input type, ``scorers.magnitude``): a float64 up to it casts into the type
# exactly or to a finite value.  A signed integer's bound is its largest value (so its most negative one
# is refused too), and int64's is 2**53 - 1: rows are validated as float64, which holds every integer
# only up to 2**53, so a larger JSON integer would reach the model rounded (2**53 + 1 as 2**53)
TYPE_BOUNDS = {
    "float16": 65504.0,
    "float32": FLOAT32_MAX,
    "int8": 127.0,
    "int16": 32767.0,
    "int32": 2147483647.0,
    "int64": 9007199254740991.0,
}
_BOUND_TYPES = {bound: name for name, bound in TYPE_BOUNDS.items()}


class NanLiteral(float):
    """``NaN`` read from a JSON text (``service.parsing``): JSON has no such value, so a field that reads a
    number refuses it as it refuses ``Infinity`` ("expected a finite number, got NaN"); the missing value
    of JSON is ``null``.  A float NaN from a frame or a binary tensor is still a missing value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NaN"


NAN_LITERAL = NanLiteral("nan")


@dataclass
class Feature:
    """One raw input column.

    ``nullable``: a missing value (JSON null / NaN) is accepted because the model imputes it.
    ``unseen``: what happens to a category not seen in the background: ``"accepted"`` (the encoder
    maps it, e.g. ``OneHotEncoder(handle_unknown="ignore")`` to all zeros) or ``"rejected"`` (400).
    ``max_abs``: the largest magnitude the model reads in this number (``scorers.magnitude`` probes it
    at packaging and bounds it by an ONNX input's type; e.g. float32's largest for a scikit-learn tree
    or a float32 graph); None: any finite number.
    ``integer``: the model reads this number as an integer type (an ONNX graph's int input): a value
    with a fraction is refused, not truncated.
    """

    name: str
    dtype: str
    categories: list[str] = field(default_factory=list)
    nullable: bool = False
    unseen: str = "rejected"
    max_abs: float | None = None
    integer: bool = False

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        if self.dtype == NUMBER:
            d.pop("categories")
            d.pop("unseen")
        if self.max_abs is None:  # no bound: the JSON of artifacts packaged before bounds existed
            d.pop("max_abs")
        if not self.integer:  # likewise
            d.pop("integer")
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Feature:
        keys = ("name", "dtype", "categories", "nullable", "unseen", "max_abs", "integer")
        return cls(**{k: d[k] for k in keys if k in d})


def _is_categorical(series: pd.Series) -> bool:
    return not (pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series))


def infer_features(frame: pd.DataFrame) -> list[Feature]:
    """Raw features from training rows: numbers stay numbers, anything else is a category."""
    features = []
    for name in frame.columns:
        col = frame[name]
        if _is_categorical(col):
            bad = [v for v in col.dropna().unique() if not isinstance(v, str)]
            if bad and all(isinstance(v, (bool, np.bool_)) for v in bad):
                raise InputError(
                    f"a column of booleans ({bad[0]!r}): rows are numbers or string categories, as in a JSON "
                    "request; encode it as 0/1 numbers (what a model fed booleans computes with), or as "
                    "strings where the model encodes it as a category",
                    field=str(name),
                )
            if bad:
                raise InputError(
                    f"categorical column holds a non-string value {bad[0]!r}; encode categories as strings",
                    field=str(name),
                )
            cats = sorted(str(v) for v in col.dropna().unique())
            features.append(Feature(str(name), CATEGORY, cats, nullable=bool(col.isna().any())))
        else:
            features.append(Feature(str(name), NUMBER, nullable=bool(col.isna().any())))
    return features


class Schema:
    """Validates rows against the features and builds the DataFrame the model takes."""

    def __init__(self, features: Sequence[Feature]) -> None:
        self.features = list(features)
        self.names = [f.name for f in self.features]
        # the frames' column index, built once: pandas builds one from a list of names on every frame
        # (50 us of a 1-row request's 60 us frame; docs/performance.md, "the request path, round 6")
        self.columns = pd.Index(self.names)
        self._index = {n: i for i, n in enumerate(self.names)}
        self._cats = [set(f.categories) for f in self.features]
        self._nullable = np.array([f.nullable for f in self.features], dtype=bool)
        self._numeric_only = all(f.dtype == NUMBER for f in self.features)
        # each column's largest magnitude (inf: none), or None when no feature has a bound
        bounds = [math.inf if f.max_abs is None else f.max_abs for f in self.features]
        self._limits = np.array(bounds) if any(f.max_abs is not None for f in self.features) else None
        # the columns read as integers, or None when there are none
        integral = np.array([f.integer for f in self.features], dtype=bool)
        self._integral = integral if integral.any() else None

    @property
    def numeric_only(self) -> bool:
        return self._numeric_only

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self.features]

    # -- validation ---------------------------------------------------------------------------------
    def _cell(self, value: Any, j: int, row: int) -> Any:
        feat = self.features[j]
        missing = value is None or (
            isinstance(value, float) and math.isnan(value) and type(value) is not NanLiteral
        )
        if missing:
            if not feat.nullable:
                raise WrongTypeError(
                    f"missing value, but the model cannot impute this feature; expected a "
                    f"{'finite number' if feat.dtype == NUMBER else 'string'}",
                    row=row,
                    field=feat.name,
                )
            return np.nan
        if feat.dtype == NUMBER:
            if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
                raise WrongTypeError(
                    f"expected a number, got {_type_name(value)} {_short(value)}", row=row, field=feat.name
                )
            try:
                f = float(value)
            except OverflowError:  # an integer beyond float64's range (a JSON number may have any digits)
                raise WrongTypeError(
                    f"expected a finite number, got an integer of {len(str(abs(value)))} digits, beyond "
                    "float64's range (about 1.8e308)",
                    row=row,
                    field=feat.name,
                ) from None
            if not math.isfinite(f):
                raise WrongTypeError(f"expected a finite number, got {value!r}", row=row, field=feat.name)
            if feat.max_abs is not None and abs(f) > feat.max_abs:
                reads = _BOUND_TYPES.get(feat.max_abs)
                why = f"the model reads {reads}" if reads else "the model refuses larger"
                raise WrongTypeError(
                    f"expected a number with magnitude <= {feat.max_abs!r} ({why}), got {f!r}",
                    row=row,
                    field=feat.name,
                )
            if feat.integer and not f.is_integer():
                raise WrongTypeError(
                    f"expected an integer (the model reads {_BOUND_TYPES.get(feat.max_abs or 0.0, 'integers')}), "
                    f"got {f!r}",
                    row=row,
                    field=feat.name,
                )
            return f
        if not isinstance(value, str):
            raise WrongTypeError(
                f"expected a string category, got {_type_name(value)} {_short(value)}",
                row=row,
                field=feat.name,
            )
        if feat.unseen == "rejected" and value not in self._cats[j]:
            raise InputError(
                f"unseen category {_short(value)}; expected one of {feat.categories[:20]}"
                + (" ..." if len(feat.categories) > 20 else ""),
                row=row,
                field=feat.name,
            )
        return value

    def rows_to_frame(self, rows: Sequence[Any]) -> pd.DataFrame:
        """Rows as JSON-like objects (dicts keyed by feature name) or arrays in feature order."""
        if not isinstance(rows, (list, tuple)):
            raise InputError(f"expected a list of rows, got {type(rows).__name__}", field="instances")
        if len(rows) == 0:
            raise InputError("expected at least one row", field="instances")
        if self._numeric_only:  # plain finite numbers need no check per cell (scorers.plain_rows)
            block = plain_block(rows, self.names, self._limits, self._integral)
            if block is not None:
                return self._block_frame(block)
        return self.cells_to_frame(rows)

    def cells_to_frame(self, rows: Sequence[Any]) -> pd.DataFrame:
        """``rows_to_frame`` of a non-empty list of rows, every cell checked in turn: the first bad one
        raises the error naming its row and field."""
        width = len(self.names)
        columns: list[list[Any]] = [[None] * len(rows) for _ in range(width)]
        for i, row in enumerate(rows):
            if isinstance(row, Mapping):
                unknown = [k for k in row if k not in self._index]
                if unknown:
                    raise UnknownFeatureError(
                        f"unknown feature '{unknown[0]}'; expected features: {self.names}",
                        row=i,
                        field=str(unknown[0]),
                    )
                if len(row) != width:
                    missing = [n for n in self.names if n not in row]
                    raise MissingFeatureError(
                        f"missing feature '{missing[0]}' (send null for a missing value where the model imputes)",
                        row=i,
                        field=missing[0],
                    )
                for j, name in enumerate(self.names):
                    columns[j][i] = self._cell(row[name], j, i)
            elif isinstance(row, (list, tuple)):
                if len(row) != width:
                    raise WrongWidthError(
                        f"expected {width} values in feature order {self.names}, got {len(row)}", row=i
                    )
                for j in range(width):
                    columns[j][i] = self._cell(row[j], j, i)
            else:
                raise InputError(
                    f"expected an object keyed by feature name or an array of {width} values, "
                    f"got {type(row).__name__}",
                    row=i,
                )
        return self._frame(columns)

    def _frame(self, columns: list[Any]) -> pd.DataFrame:
        """Validated columns (lists or float arrays) to the model's DataFrame: floats, or objects with NaN."""
        if self.numeric_only:  # one float block, rows x features in C order: cheap to build and read back
            return self._block_frame(np.array(columns, dtype=np.float64).T.copy())
        data = {}
        for feat, col in zip(self.features, columns, strict=True):
            if feat.dtype == NUMBER:
                data[feat.name] = np.asarray(col, dtype=np.float64)
            else:
                obj = np.asarray(col, dtype=object)
                obj[pd.isna(obj)] = np.nan
                data[feat.name] = obj
        return pd.DataFrame(data, columns=self.columns, copy=False)

    def _checked_block(self, values: np.ndarray) -> pd.DataFrame:
        """An (n, M) numeric block: every cell finite and within its bound, an integer where the model
        reads one, NaN only where the model imputes."""
        values = np.ascontiguousarray(values, dtype=np.float64)
        bad = ~np.isfinite(values)
        if bad.any():
            bad &= np.isinf(values) | ~self._nullable[None, :]
        if self._limits is not None:
            bad |= np.abs(values) > self._limits[None, :]
        if self._integral is not None:
            bad[:, self._integral] |= fractional(values[:, self._integral])
        if bad.any():
            i, j = np.argwhere(bad)[0]
            self._cell(values[i, j], int(j), int(i))
        return self._block_frame(values)

    def _block_frame(self, values: np.ndarray) -> pd.DataFrame:
        """The model's DataFrame of a checked (n, M) float64 block, without a copy."""
        return pd.DataFrame(values, columns=self.columns, copy=False)

    def validate_frame(self, frame: pd.DataFrame | np.ndarray) -> pd.DataFrame:
        """The Python API's entry: a DataFrame with exactly the features, or an array in their order."""
        if isinstance(frame, np.ndarray):
            if frame.ndim != 2 or frame.shape[1] != len(self.names):
                raise WrongWidthError(
                    f"expected a 2-d array with {len(self.names)} columns in order {self.names}, got shape {frame.shape}"
                )
            if self.numeric_only and frame.dtype.kind in "fiu":
                return self._checked_block(frame)
            frame = pd.DataFrame(frame, columns=self.names)
        if not isinstance(frame, pd.DataFrame):
            return self.rows_to_frame(frame)
        frame = string_columns(frame)
        unknown = [c for c in frame.columns if c not in self._index]
        if unknown:
            raise UnknownFeatureError(
                f"unknown feature '{unknown[0]}'; expected features: {self.names}", field=str(unknown[0])
            )
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise MissingFeatureError(f"missing feature '{missing[0]}'", field=missing[0])
        if frame.columns.tolist() != self.names:
            frame = frame[self.names]
        if self.numeric_only:
            # all-numeric fast path: one array, vectorised checks; a bad cell gets the cell's message.
            # numpy's common dtype of the columns says at once whether all are plain numbers: any bool,
            # string, object or nullable-extension column makes it bool or object, which take the
            # column-wise path below.
            values = frame.to_numpy()
            if values.dtype.kind in "fiu":
                return self._checked_block(values)
        # numeric columns checked column-wise; anything unusual goes through the cell checks
        out = {}
        for j, feat in enumerate(self.features):
            col = frame[feat.name]
            if (
                feat.dtype == NUMBER
                and pd.api.types.is_numeric_dtype(col)
                and not pd.api.types.is_bool_dtype(col)
            ):
                values = col.to_numpy(dtype=np.float64, na_value=np.nan)
                wrong = np.isinf(values) | (np.isnan(values) & (not feat.nullable))
                if feat.max_abs is not None:
                    wrong |= np.abs(values) > feat.max_abs
                if feat.integer:
                    wrong |= fractional(values)
                bad = np.flatnonzero(wrong)
                if bad.size:
                    self._cell(values[bad[0]], j, int(bad[0]))
                out[feat.name] = values
            else:
                out[feat.name] = [self._cell(v, j, i) for i, v in enumerate(col.tolist())]
        return self._frame([out[n] for n in self.names])


def _type_name(value: Any) -> str:
    return "float" if type(value) is NanLiteral else type(value).__name__


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
