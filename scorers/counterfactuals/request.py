"""What a caller asks of a counterfactual search, checked against the model before any search: the
target (a class, or a ``[low, high]`` range of a regressor's prediction) and the constraints (features
that must not change, allowed ranges, allowed categories).  Every mistake is an ``InputError`` naming
the field: ``target``, ``count``, ``constraints.fixed``, ``constraints.ranges.<feature>``, ...
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError, UnknownFeatureError
from .space import Space

MAX_COUNT = 20


@dataclass(frozen=True)
class Constraints:
    """``fixed``: features that keep the row's value; ``ranges``: the values a changed number may take;
    ``categories``: the values a changed category may take.  Within the training data's in any case."""

    fixed: Sequence[str] = ()
    ranges: Mapping[str, Sequence[float]] = field(default_factory=dict)
    categories: Mapping[str, Sequence[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, raw: Any) -> Constraints:
        if raw is None:
            return cls()
        if isinstance(raw, Constraints):
            return raw
        if not isinstance(raw, Mapping):
            raise InputError(f"expected an object, got {type(raw).__name__}", field="constraints")
        unknown = [k for k in raw if k not in ("fixed", "ranges", "categories")]
        if unknown:
            raise InputError(
                f"unknown key '{unknown[0]}'; expected fixed, ranges, categories", field="constraints"
            )
        fixed, ranges, cats = raw.get("fixed") or [], raw.get("ranges") or {}, raw.get("categories") or {}
        if not isinstance(fixed, list) or not all(isinstance(f, str) for f in fixed):
            raise InputError("expected a list of feature names", field="constraints.fixed")
        for key, value in (("ranges", ranges), ("categories", cats)):
            if not isinstance(value, Mapping):
                raise InputError("expected an object keyed by feature name", field=f"constraints.{key}")
        return cls(fixed=fixed, ranges=ranges, categories=cats)


@dataclass(frozen=True)
class Target:
    """A class label (classifiers) or a closed range ``[low, high]`` of the prediction (regressors)."""

    label: Any = None
    low: float = -math.inf
    high: float = math.inf

    @property
    def is_range(self) -> bool:
        return self.label is None

    def reached(self, predictions: np.ndarray) -> np.ndarray:
        if self.is_range:
            p = np.asarray(predictions, dtype=np.float64)
            return (p >= self.low) & (p <= self.high)
        return np.array([_same(p, self.label) for p in predictions], dtype=bool)

    def to_json(self) -> Any:
        """The target as the request gave it: a class, or [low, high] with null for an open end."""
        if not self.is_range:
            return self.label
        return [None if math.isinf(v) else v for v in (self.low, self.high)]


def _same(a: Any, b: Any) -> bool:
    a = a.item() if isinstance(a, np.generic) else a
    return (
        type(a) is type(b) and a == b or (isinstance(a, (int, float)) and not isinstance(a, bool) and a == b)
    )


def parse_target(raw: Any, classes: list[Any] | None) -> Target:
    raw = raw.item() if isinstance(raw, np.generic) else raw
    if classes is not None:
        plain = [c.item() if isinstance(c, np.generic) else c for c in classes]
        if raw is None or isinstance(raw, (list, dict)) or not any(_same(c, raw) for c in plain):
            raise InputError(f"expected one of the model's classes {plain}, got {raw!r}", field="target")
        return Target(label=next(c for c in plain if _same(c, raw)))
    if not isinstance(raw, (list, tuple)) or len(raw) != 2:
        raise InputError(f"expected a range [low, high] of the prediction, got {raw!r}", field="target")
    bounds = [None if v is None else _finite(v) for v in raw]
    if any(b is None and v is not None for b, v in zip(bounds, raw, strict=True)):
        raise InputError(f"expected finite numbers (or null for an open end), got {raw!r}", field="target")
    low = -math.inf if bounds[0] is None else bounds[0]
    high = math.inf if bounds[1] is None else bounds[1]
    if low > high:
        raise InputError(f"the range [{low}, {high}] is empty", field="target")
    return Target(low=low, high=high)


def _finite(value: Any) -> float | None:
    """A JSON number as a finite float, else None (a bool, a string, NaN, an infinity, an integer beyond
    float64's range)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        f = float(value)
    except OverflowError:
        return None
    return f if math.isfinite(f) else None


def parse_count(raw: Any) -> int:
    if raw is None:
        return 1
    if isinstance(raw, bool) or not isinstance(raw, int) or not 1 <= raw <= MAX_COUNT:
        raise InputError(f"expected an integer from 1 to {MAX_COUNT}, got {raw!r}", field="count")
    return raw


@dataclass(frozen=True)
class Allowed:
    """Per feature: may it change, the interval a changed number must lie in, the codes a changed
    category may take (None: any known category)."""

    mutable: np.ndarray  # (M,) bool
    low: np.ndarray  # (M,)
    high: np.ndarray
    codes: list[np.ndarray | None]


def allowed(space: Space, constraints: Constraints, immutable: Sequence[str]) -> Allowed:
    index = {n: j for j, n in enumerate(space.names)}

    def column(name: Any, where: str) -> int:
        if name not in index:
            raise UnknownFeatureError(
                f"unknown feature '{name}'; expected features: {space.names}", field=where
            )
        return index[name]

    mutable = np.ones(space.width, dtype=bool)
    for name in [*immutable, *constraints.fixed]:
        mutable[column(name, "constraints.fixed")] = False
    low, high = space.low.copy(), space.high.copy()
    for name, bounds in constraints.ranges.items():
        where = f"constraints.ranges.{name}"
        j = column(name, where)
        if not space.numeric[j]:
            raise InputError("a range is for a number; give a category list under categories", field=where)
        ends = [_finite(v) for v in bounds] if isinstance(bounds, (list, tuple)) else []
        if len(ends) != 2 or ends[0] is None or ends[1] is None:
            raise InputError(f"expected [low, high] of finite numbers, got {bounds!r}", field=where)
        lo, hi = ends[0], ends[1]
        if not lo <= hi:
            raise InputError(f"the range [{lo}, {hi}] is empty", field=where)
        if hi < space.low[j] or lo > space.high[j]:
            raise InputError(
                f"the range [{lo}, {hi}] lies outside the feature's plausible values "
                f"[{space.low[j]}, {space.high[j]}] (the training data's)",
                field=where,
            )
        low[j], high[j] = max(lo, space.low[j]), min(hi, space.high[j])
    codes: list[np.ndarray | None] = [None] * space.width
    for name, values in constraints.categories.items():
        where = f"constraints.categories.{name}"
        j = column(name, where)
        if space.numeric[j]:
            raise InputError(
                "categories are for a categorical feature; give a range under ranges", field=where
            )
        known = space.categories[j]
        if not isinstance(values, (list, tuple)) or not values:
            raise InputError(f"expected a non-empty list of categories from {known}", field=where)
        bad = [v for v in values if v not in known]
        if bad:
            raise InputError(f"unknown category {bad[0]!r}; expected some of {known}", field=where)
        codes[j] = np.array(sorted(known.index(v) for v in values), dtype=np.float64)
    return Allowed(mutable=mutable, low=low, high=high, codes=codes)
