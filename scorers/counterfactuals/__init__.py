"""Counterfactuals: for each row, up to ``count`` diverse rows near it that the model answers with the
target (a class, or a range of a regressor's value), changing only what may change, to values the
training data holds (its ranges, the manifest's categories).

``CounterfactualIndex.build`` takes the rows the artifact stores (the fit-time sample of training rows,
the background, the evaluation rows) once per explainer, with the model function the search scores with
(``fast.py``); ``find`` searches (``search.py``), then checks and explains the counterfactuals of all rows
at once (``Judge``: the model's own labels and probabilities; one explanation call).  Their encoding is
gathered from the bank, as the search scored them, where gathering was found to reproduce the
preprocessing on the stored rows (``gathers_exactly``); otherwise the judge encodes them in one pass.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..explanation_objects import Explanation
from ..input_schema import Schema
from .bank import Bank
from .fast import Changes, Outputs, Rbf, search_functions
from .request import Constraints, Target, allowed, parse_count, parse_target
from .search import Found, Problem, objective, search
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


Judge = Callable[[pd.DataFrame, np.ndarray | None], tuple[np.ndarray, np.ndarray, np.ndarray | None]]
"""(validated rows, their encoding if known) -> (their encoding, the model's own ``predict``,
``predict_proba`` or None)."""


@dataclass(frozen=True)
class CounterfactualIndex:
    space: Space
    bank: Bank  # the stored training rows (the pool) with their encodings
    immutable: tuple[str, ...]
    encode: Callable[[pd.DataFrame], np.ndarray]  # raw rows -> the model function's encoded rows
    outputs: Outputs  # encoded rows -> the explained outputs (n, K): what the search scores with
    changes: Changes  # the outputs of a row's single changes
    gathers: bool  # gathered encodings equal ``encode``'s on the stored rows' hybrids
    pool_outputs: np.ndarray  # (n_pool, K) ``outputs`` of the stored rows (the search's whole hybrids)

    @classmethod
    def build(
        cls,
        schema: Schema,
        rows: Sequence[pd.DataFrame],
        encode: Callable[[pd.DataFrame], np.ndarray],
        group: np.ndarray,
        outputs: Outputs,
        rbf: Rbf | None = None,
        ranges: dict[str, list[float]] | None = None,
        immutable: Sequence[str] = (),
    ) -> CounterfactualIndex:
        """``encode`` and ``group`` (the feature of each encoded column) are the explainer's masking;
        ``outputs`` the scorer's model function; ``rbf`` the kernel machine it computes, if it is one
        (used where it agrees with ``outputs``: ``fast.search_functions``)."""
        frame = pd.concat([r[schema.names] for r in rows], ignore_index=True)
        space = build_space(schema, frame, ranges)
        space, pool = space.encode(frame)
        bank = Bank.build(pool, np.asarray(encode(frame), dtype=np.float64), group, len(pool))
        fast, changes = search_functions(outputs, rbf, bank)
        pool_out = (
            np.asarray(fast(bank.e), dtype=np.float64).reshape(len(pool), -1)
            if len(pool)
            else np.empty((0, 1))
        )
        exact = gathers_exactly(space, bank, encode)
        return cls(space, bank, tuple(immutable), encode, fast, changes, exact, pool_out)

    def find(
        self,
        frame: pd.DataFrame,
        *,
        target: Any,
        count: Any = None,
        constraints: Any = None,
        classes: list[Any] | None,
        judge: Judge,
        explain: Callable[[np.ndarray], Explanation],
    ) -> Counterfactuals:
        """Counterfactuals of validated rows; every request mistake is an ``InputError`` naming its field.
        ``self.outputs`` guides the search; ``judge`` (the model's own ``predict``) decides which rows are
        returned, ``explain`` explains them from their encoding (one call each for all rows)."""
        goal = parse_target(target, classes)
        n = parse_count(count)
        rules = allowed(self.space, Constraints.parse(constraints), self.immutable)
        space, z = self.space.encode(frame)
        pool = len(self.bank.z)
        bank = self.bank.extend(z, np.asarray(self.encode(frame), dtype=np.float64))
        reached, score = _guides(goal, classes)
        problem = Problem(
            space, rules, goal, bank, pool, self.outputs, self.changes, reached, score, self.pool_outputs
        )
        already = reached(
            self.outputs(bank.encoded(pool + np.arange(len(z))[:, None].repeat(space.width, 1)))
        )
        found = [
            Found(
                np.empty((0, space.width)),
                np.empty(0),
                "the row already reaches the target",
                np.empty((0, space.width), dtype=np.int64),
            )
            if already[i]
            else search(problem, pool + i, n)
            for i in range(len(z))
        ]
        return Counterfactuals(goal, n, _answers(problem, z, found, n, judge, explain, self.gathers))


def gathers_exactly(space: Space, bank: Bank, encode: Callable[[pd.DataFrame], np.ndarray]) -> bool:
    """Whether the encoding gathered from the bank (``Bank.encoded``) is the preprocessing's own, bit for
    bit, on hybrids of the stored rows (row i with feature j from row i + j + 1): then the rows a search
    returns need no second preprocessing pass."""
    n = min(len(bank.z), 64)
    if n == 0:
        return False
    src = (np.arange(n)[:, None] + np.arange(space.width)[None, :] + 1) % n
    src[:, 0] = np.arange(n)
    want = np.asarray(encode(space.decode(bank.rows(src))), dtype=np.float64)
    return bool(np.array_equal(bank.encoded(src), want, equal_nan=True))


def _guides(
    goal: Target, classes: list[Any] | None
) -> tuple[Callable[[np.ndarray], np.ndarray], Callable[[np.ndarray], np.ndarray]]:
    """(does a row reach the target, how near it is: larger is nearer) from its explained outputs: the
    class with the largest output (probability, log-odds or margin), the target class's output; a
    regressor's output and minus its distance to the range."""
    if goal.is_range:

        def gap(out: np.ndarray) -> np.ndarray:
            p = np.asarray(out, dtype=np.float64)[:, 0]
            return -np.maximum(goal.low - p, 0.0) - np.maximum(p - goal.high, 0.0)

        return (lambda out: gap(out) >= 0.0), gap
    k = [c.item() if isinstance(c, np.generic) else c for c in classes or []].index(goal.label)

    def reached(out: np.ndarray) -> np.ndarray:
        out = np.asarray(out, dtype=np.float64)
        return np.argmax(out, axis=1) == k

    return reached, lambda out: np.asarray(out, dtype=np.float64)[:, k]


def _answers(
    p: Problem,
    z: np.ndarray,
    found: list[Found],
    count: int,
    judge: Judge,
    explain: Callable[[np.ndarray], Explanation],
    gathers: bool,
) -> list[RowCounterfactuals]:
    """Each row's counterfactuals that the model's own ``predict`` confirms (the search's order, up to
    ``count``, nearest first), with predictions and explanations: one call each for all rows."""
    space = p.space
    allz = np.concatenate([f.rows for f in found]) if found else np.empty((0, space.width))
    every = space.decode(allz)
    known = None
    if gathers and len(allz) and all(f.sources is not None for f in found):
        known = p.bank.encoded(np.concatenate([f.sources for f in found if f.sources is not None]))
    encoded, checked, proba = judge(every, known) if len(allz) else (None, np.empty(0), None)
    ok = p.target.reached(checked)
    kept, picked, r = [], [], 0
    for x, f in zip(z, found, strict=True):
        take = r + np.flatnonzero(ok[r : r + len(f.rows)])[:count]
        r += len(f.rows)
        take = take[np.argsort(objective(p, x, allz[take]), kind="stable")]
        rows = allz[take]
        picked.append(take)
        reason = f.reason
        if reason is None and len(rows) < count:
            reason = f"{len(rows)} distinct counterfactuals found"
            if len(rows) == 0:
                reason = "no counterfactual the model confirms was found"
        kept.append(Found(rows, space.distance(x, rows), reason))
    take = np.concatenate(picked).astype(np.int64) if picked else np.empty(0, dtype=np.int64)
    frame = every.iloc[take].reset_index(drop=True)
    preds = checked[take]
    proba = None if proba is None else proba[take]
    exp = explain(encoded[take]) if encoded is not None and len(take) else None
    out, r = [], 0
    for x, f in zip(z, kept, strict=True):
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
