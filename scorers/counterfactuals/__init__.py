"""Counterfactuals: for each row, up to ``count`` diverse rows near it that the model answers with the
target (a class, or a range of a regressor's value), changing only what may change, to values the
training data holds (its ranges, the manifest's categories).

``CounterfactualIndex.build`` takes the rows the artifact stores (the fit-time sample of training rows,
the background, the evaluation rows) once per explainer; ``find`` searches (``search.py``) and explains
the counterfactuals with the served explainer in one call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..explanation_objects import Explanation
from ..input_schema import Schema
from .request import Constraints, Target, allowed, parse_count, parse_target
from .search import Found, Problem, search
from .space import Space, build_space

__all__ = [
    "Constraints",
    "CounterfactualIndex",
    "Counterfactuals",
    "RowCounterfactuals",
    "Target",
]


@dataclass(frozen=True)
class RowCounterfactuals:
    """One row's answer: ``frame`` (k rows, raw schema), their predictions, changed features, scaled
    L1 distances to the row, the explanation of the k rows (None when k == 0), and why fewer than asked."""

    frame: pd.DataFrame
    predictions: np.ndarray
    probabilities: np.ndarray | None
    changed: list[list[str]]
    distances: np.ndarray
    explanation: Explanation | None
    reason: str | None

    @property
    def found(self) -> int:
        return len(self.frame)


@dataclass(frozen=True)
class Counterfactuals:
    target: Target
    count: int
    rows: list[RowCounterfactuals]


@dataclass(frozen=True)
class CounterfactualIndex:
    space: Space
    pool: np.ndarray  # (n, M) the stored training rows in the search space
    immutable: tuple[str, ...]

    @classmethod
    def build(
        cls,
        schema: Schema,
        rows: Sequence[pd.DataFrame],
        ranges: dict[str, list[float]] | None = None,
        immutable: Sequence[str] = (),
    ) -> CounterfactualIndex:
        frame = pd.concat([r[schema.names] for r in rows], ignore_index=True)
        space = build_space(schema, frame, ranges)
        space, pool = space.encode(frame)
        return cls(space, pool, tuple(immutable))

    def find(
        self,
        frame: pd.DataFrame,
        *,
        target: Any,
        count: Any = None,
        constraints: Any = None,
        classes: list[Any] | None,
        predict: Callable[[pd.DataFrame], np.ndarray],
        predict_proba: Callable[[pd.DataFrame], np.ndarray] | None,
        outputs: Callable[[pd.DataFrame], np.ndarray],
        explain: Callable[[pd.DataFrame], Explanation],
    ) -> Counterfactuals:
        """Counterfactuals of validated rows; every request mistake is an ``InputError`` naming its field.
        ``predict`` decides validity; ``outputs`` (the explained outputs, (n, K), fast) only orders changes."""
        goal = parse_target(target, classes)
        n = parse_count(count)
        rules = allowed(self.space, Constraints.parse(constraints), self.immutable)
        space, z = self.space.encode(frame)
        problem = Problem(space, rules, goal, predict, _score(goal, classes, outputs))
        found = [search(problem, x, self.pool, n) for x in z]
        return Counterfactuals(goal, n, _answers(space, z, found, predict, predict_proba, explain))


def _score(
    goal: Target, classes: list[Any] | None, outputs: Callable[[pd.DataFrame], np.ndarray]
) -> Callable[[pd.DataFrame], np.ndarray]:
    """Larger is nearer the target: the target class's explained output (its probability, log-odds or
    margin), or minus the distance of a regressor's output to the range."""
    if goal.is_range:

        def gap(frame: pd.DataFrame) -> np.ndarray:
            p = np.asarray(outputs(frame), dtype=np.float64)[:, 0]
            return -np.maximum(goal.low - p, 0.0) - np.maximum(p - goal.high, 0.0)

        return gap
    k = [c.item() if isinstance(c, np.generic) else c for c in classes or []].index(goal.label)
    return lambda frame: np.asarray(outputs(frame), dtype=np.float64)[:, k]


def _answers(
    space: Space,
    z: np.ndarray,
    found: list[Found],
    predict: Callable[[pd.DataFrame], np.ndarray],
    predict_proba: Callable[[pd.DataFrame], np.ndarray] | None,
    explain: Callable[[pd.DataFrame], Explanation],
) -> list[RowCounterfactuals]:
    """Each row's counterfactuals with their predictions and explanations (one call each for all rows)."""
    allz = np.concatenate([f.rows for f in found]) if found else np.empty((0, space.width))
    frame = space.decode(allz)
    preds = predict(frame) if len(allz) else np.empty(0)
    proba = predict_proba(frame) if predict_proba is not None and len(allz) else None
    exp = explain(frame) if len(allz) else None
    out, r = [], 0
    for x, f in zip(z, found, strict=True):
        k = len(f.rows)
        part = slice(r, r + k)
        out.append(
            RowCounterfactuals(
                frame=frame.iloc[part].reset_index(drop=True),
                predictions=preds[part],
                probabilities=None if proba is None else proba[part],
                changed=[
                    [space.names[j] for j in np.flatnonzero(space.deltas(x, c[None, :])[0] > 0)]
                    for c in f.rows
                ],
                distances=f.distances,
                explanation=None if exp is None or k == 0 else _rows(exp, part),
                reason=f.reason,
            )
        )
        r += k
    return out


def _rows(exp: Explanation, part: slice) -> Explanation:
    return Explanation(
        values=exp.values[part],
        base_values=exp.base_values,
        outputs=exp.outputs[part],
        features=exp.features,
        classes=exp.classes,
        output_space=exp.output_space,
        scorer=exp.scorer,
    )
