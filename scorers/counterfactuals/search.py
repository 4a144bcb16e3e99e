"""The search for one row's counterfactuals, every step one model call vectorised over candidates.

1. Neighbours: the stored training rows, each made a *hybrid* of the row (fixed features keep the row's
   value; a changed number is clipped into its allowed range; a category or a missing value that is not
   allowed keeps the row's value), predicted at once; those that reach the target are the seeds.
2. Sparsify: per seed, the changes ordered by how far each alone moves the model's score towards the
   target (one call), then the shortest prefix of that order that reaches the target (one call).
3. Local search, a few rounds: per candidate, every changed feature either back to the row's value or a
   number moved a fraction of the way back (t in ``_STEPS``), all predicted at once; the valid variant
   that lowers ``distance + _SPARSITY * changes`` most is taken.
4. Diversity: greedy selection, best objective first, then the candidate that adds the most distance to
   those chosen (and a set of changed features not chosen yet), ``count`` in all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .request import Allowed, Target
from .space import FloatArray, Space

Predict = Callable[[pd.DataFrame], np.ndarray]

_SEEDS = 12  # the nearest valid neighbours refined (at least 3 per counterfactual asked for)
_STEPS = (0.0, 0.25, 0.5, 0.75)  # fractions of a number's change kept by a local-search variant
_ROUNDS = 8
_SPARSITY = 0.5  # objective weight of each changed feature, in units of the scaled distance
_DIVERSITY = 0.5


@dataclass(frozen=True)
class Found:
    rows: FloatArray  # (k, M) the counterfactuals
    distances: FloatArray  # (k,)
    reason: str | None  # why fewer than asked (or none) were found


@dataclass(frozen=True)
class Problem:
    space: Space
    allowed: Allowed
    target: Target
    predict: Predict  # validity: labels (classifier) or values (regressor)
    score: Predict  # (n,) larger is nearer the target


def _valid(p: Problem, z: FloatArray) -> np.ndarray:
    if len(z) == 0:
        return np.zeros(0, dtype=bool)
    return p.target.reached(p.predict(p.space.decode(z)))


def _admissible(p: Problem, x: FloatArray, z: FloatArray) -> FloatArray:
    """Rows ``z`` with every change from ``x`` made allowed: fixed features and values that may not be
    taken fall back to the row's, numbers are clipped into their range (and rounded where whole)."""
    a, s = p.allowed, p.space
    z = z.copy()
    z[:, ~a.mutable] = x[~a.mutable]
    z = np.where(np.isnan(z) & ~np.isnan(x), x, z)  # never propose a missing value
    num = s.numeric & a.mutable
    clipped = np.clip(z[:, num], a.low[num], a.high[num])
    rounded = np.where(s.integral[num], np.round(clipped), clipped)
    z[:, num] = np.where(z[:, num] == x[num], z[:, num], rounded)
    for j, codes in enumerate(a.codes):
        if codes is not None:
            z[:, j] = np.where(np.isin(z[:, j], codes) | (z[:, j] == x[j]), z[:, j], x[j])
    return z


def _objective(p: Problem, x: FloatArray, z: FloatArray) -> FloatArray:
    d = p.space.deltas(x, z)
    return d.sum(axis=1) + _SPARSITY * (d > 0).sum(axis=1)


def _seeds(p: Problem, x: FloatArray, pool: FloatArray, k: int) -> FloatArray:
    hybrids = _admissible(p, x, pool)
    hybrids = hybrids[p.space.distance(x, hybrids) > 0]
    if len(hybrids) == 0:
        return hybrids
    hybrids = np.unique(hybrids, axis=0)
    valid = hybrids[_valid(p, hybrids)]
    return valid[np.argsort(_objective(p, x, valid), kind="stable")[:k]]


def _changed(x: FloatArray, c: FloatArray) -> np.ndarray:
    both_nan = np.isnan(x) & np.isnan(c)
    return np.flatnonzero(~both_nan & (x != c))


def _sparsify(p: Problem, x: FloatArray, seeds: FloatArray) -> FloatArray:
    """Per seed, the shortest prefix (ordered by each change's own pull) of its changes that is valid."""
    changes = [_changed(x, c) for c in seeds]
    singles = np.repeat(x[None, :], sum(len(j) for j in changes), axis=0)
    r = 0
    for c, js in zip(seeds, changes, strict=True):
        singles[r + np.arange(len(js)), js] = c[js]
        r += len(js)
    pull = p.score(p.space.decode(singles))
    orders, r = [], 0
    for js in changes:
        orders.append(js[np.argsort(-pull[r : r + len(js)], kind="stable")])
        r += len(js)
    prefixes = np.repeat(x[None, :], r, axis=0)
    r = 0
    for c, order in zip(seeds, orders, strict=True):
        for n in range(len(order)):
            prefixes[r + n, order[: n + 1]] = c[order[: n + 1]]
        r += len(order)
    ok = _valid(p, prefixes)
    out, r = seeds.copy(), 0
    for i, order in enumerate(orders):
        first = np.flatnonzero(ok[r : r + len(order)])
        if first.size:
            out[i] = prefixes[r + first[0]]
        r += len(order)
    return out


def _variants(p: Problem, x: FloatArray, c: FloatArray) -> FloatArray:
    rows = []
    for j in _changed(x, c):
        for t in _STEPS if p.space.numeric[j] and not np.isnan(x[j]) else (0.0,):
            v = c.copy()
            v[j] = x[j] + t * (c[j] - x[j])
            rows.append(v)
    if not rows:
        return np.empty((0, len(x)))
    return _admissible(p, x, np.array(rows))


def _refine(p: Problem, x: FloatArray, cands: FloatArray) -> FloatArray:
    cands = cands.copy()
    active = np.ones(len(cands), dtype=bool)
    for _ in range(_ROUNDS):
        idx = np.flatnonzero(active)
        parts = [_variants(p, x, cands[i]) for i in idx]
        if not any(len(v) for v in parts):
            break
        allv = np.concatenate(parts)
        ok = _valid(p, allv)
        gain = _objective(p, x, cands[idx]).repeat([len(v) for v in parts]) - _objective(p, x, allv)
        gain = np.where(ok, gain, -np.inf)
        r = 0
        for i, v in zip(idx, parts, strict=True):
            g = gain[r : r + len(v)]
            if len(v) and g.max() > 1e-12:
                cands[i] = v[int(np.argmax(g))]
            else:
                active[i] = False
            r += len(v)
        if not active.any():
            break
    return cands


def _diverse(p: Problem, x: FloatArray, cands: FloatArray, count: int) -> FloatArray:
    cands = np.unique(cands, axis=0)
    obj = _objective(p, x, cands)
    chosen = [int(np.argmin(obj))]
    sets = {tuple(_changed(x, cands[chosen[0]]))}
    while len(chosen) < min(count, len(cands)):
        best, best_score = -1, -np.inf
        for i in range(len(cands)):
            if i in chosen:
                continue
            spread = min(float(p.space.distance(cands[s], cands[i : i + 1])[0]) for s in chosen)
            new_set = tuple(_changed(x, cands[i])) not in sets
            score = -obj[i] + _DIVERSITY * spread + (1.0 if new_set else 0.0)
            if spread > 0 and score > best_score:
                best, best_score = i, score
        if best < 0:
            break
        chosen.append(best)
        sets.add(tuple(_changed(x, cands[best])))
    return cands[chosen]


def search(p: Problem, x: FloatArray, pool: FloatArray, count: int) -> Found:
    """Up to ``count`` diverse counterfactuals of the row ``x`` (M,) from training rows ``pool`` (n, M)."""
    if p.target.reached(p.predict(p.space.decode(x[None, :])))[0]:
        return Found(np.empty((0, len(x))), np.empty(0), "the row already reaches the target")
    seeds = _seeds(p, x, pool, max(_SEEDS, 3 * count))
    if len(seeds) == 0:
        return Found(
            np.empty((0, len(x))),
            np.empty(0),
            "no training row changed within the constraints reaches the target",
        )
    cands = _refine(p, x, _sparsify(p, x, seeds))
    rows = _diverse(p, x, cands, count)
    order = np.argsort(_objective(p, x, rows), kind="stable")
    rows = rows[order]
    reason = None if len(rows) == count else f"{len(rows)} distinct counterfactuals found"
    return Found(rows, p.space.distance(x, rows), reason)
