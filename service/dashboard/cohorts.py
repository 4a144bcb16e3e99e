"""Cohorts: the rows matching every filter, as one boolean mask over the data set; a cohort with
``since`` keeps only the answers recorded at or after that time (the source ``recorded``)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from scorers.errors import InputError

from .schemas import Cohort, Filter
from .sources import Dataset
from .table import CATEGORY, Column

Mask = npt.NDArray[np.bool_]
NUMBER_OPS = ("lt", "le", "gt", "ge", "eq", "ne", "between")
CATEGORY_OPS = ("in", "not_in")
RECORDED_AT = "@recorded"  # when a row's answer was recorded (seconds since the epoch); missing: not recorded


def mask(ds: Dataset, cohort: Cohort, where: str = "cohort") -> Mask:
    out = np.ones(ds.n_rows, dtype=bool)
    for i, flt in enumerate(cohort.filters):
        at = f"{where}.filters.{i}"
        out &= _condition(ds.column(flt.field, f"{at}.field"), flt, at)
    if cohort.since is not None:
        out &= since(ds, cohort.since, f"{where}.since")
    return out


def since(ds: Dataset, t: datetime, where: str) -> Mask:
    """The cohort kind "since time T": the rows whose answer was recorded at or after ``t``."""
    col = ds.columns.get(RECORDED_AT)
    if col is None:
        raise InputError(
            f"a 'since' cohort selects recorded answers, and {ds.title} has none; choose the source 'recorded'",
            field=where,
        )
    stamp = (t if t.tzinfo is not None else t.replace(tzinfo=UTC)).timestamp()
    with np.errstate(invalid="ignore"):
        return np.asarray(col.values >= stamp, dtype=bool)


def masks(ds: Dataset, cohorts: list[Cohort]) -> list[Mask]:
    return [mask(ds, c, f"cohorts.{i}") for i, c in enumerate(cohorts)]


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
        raise InputError(f"expected a finite number, got {value!r}", field=where)
    return float(value)


def _condition(col: Column, flt: Filter, at: str) -> Mask:
    op, value, where = flt.op, flt.value, f"{at}.value"
    if op in ("missing", "present") and value is not None:
        raise InputError(f"'{op}' takes no value, got {value!r}; send null or leave it out", field=where)
    if op == "missing":
        return col.missing()
    if op == "present":
        return ~col.missing()
    if col.kind == CATEGORY:
        if op not in CATEGORY_OPS:
            raise InputError(
                f"a category field takes {CATEGORY_OPS} or missing/present, got {op!r}", field=f"{at}.op"
            )
        if not isinstance(value, list):
            raise InputError(f"expected a list of categories, got {value!r}", field=where)
        cats = col.categories or []
        unknown = [v for v in value if not isinstance(v, str) or v not in cats]  # no number read as text
        if unknown:
            raise InputError(f"unknown categories {unknown[:5]}; expected some of {cats[:30]}", field=where)
        chosen = np.zeros(len(cats) + 1, dtype=bool)  # the last entry: a missing value (-1)
        chosen[[cats.index(str(v)) for v in value]] = True
        hit = chosen[col.values]  # one gather over the rows
        return hit if op == "in" else ~hit & (col.values >= 0)
    if op not in NUMBER_OPS:
        raise InputError(
            f"a number field takes {NUMBER_OPS} or missing/present, got {op!r}", field=f"{at}.op"
        )
    v = col.values
    with np.errstate(invalid="ignore"):
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                raise InputError(f"expected [low, high], got {value!r}", field=where)
            low, high = _number(value[0], f"{where}.0"), _number(value[1], f"{where}.1")
            return (v >= low) & (v <= high)
        x = _number(value, where)
        result: Mask = {
            "lt": v < x,
            "le": v <= x,
            "gt": v > x,
            "ge": v >= x,
            "eq": v == x,
            "ne": (v != x) & np.isfinite(v),
        }[op]
        return result


def sample(ds: Dataset, rows: Mask, k: int) -> npt.NDArray[np.int64]:
    """At most k rows of a mask: those of lowest rank in the data set's fixed random order (so the
    same rows are shown across requests, axes and overlapping cohorts), in row order."""
    if ds.order is not None:  # walk the fixed order: the first k rows of the mask in it
        return np.sort(ds.order[np.flatnonzero(rows[ds.order])[:k]]).astype(np.int64)
    idx = np.flatnonzero(rows)
    if len(idx) > k:
        idx = np.sort(idx[np.argpartition(ds.rank[idx], k)[:k]])
    return idx.astype(np.int64)


def describe(cohort: Cohort) -> dict[str, Any]:
    out: dict[str, Any] = {"name": cohort.name, "filters": [f.model_dump() for f in cohort.filters]}
    if cohort.since is not None:
        out["since"] = cohort.since.isoformat()
    return out


__all__ = ["Filter", "mask", "masks", "sample"]
