"""``max_error``: larger coalition designs for the rows whose error estimate misses a target.

A row whose per-row sigma (``ErrorEstimate.rows``) exceeds the target is explained again with a design of
twice the coalitions (a new seed), then four times, ... until its sigma meets the target, the design
enumerates every coalition, or the deadline passes.  The background part is a floor no design lowers:
a row whose background part alone exceeds the target is not refined.  Each row says which
(``Refined.status``): ``met``, ``background`` (the floor is above the target), ``time`` (the deadline
passed first), ``coalitions`` (every coalition, or the growth cap, reached).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from .estimate import ErrorEstimate, combine
from .sampling import FloatArray, with_se

GROWTH_CAP = 64  # at most this many times the served design's coalitions
MET, FLOOR, TIME, COALITIONS = "met", "background", "time", "coalitions"


@dataclass(frozen=True)
class Refined:
    values: FloatArray  # (n, K, M)
    outputs: FloatArray  # (n, K)
    error: ErrorEstimate
    status: list[str]
    coalitions: list[int]  # the design each row's values come from


def _larger(scorer: Any, n_coalitions: int) -> Any:
    """The served kind refitted on the same context with ``n_coalitions`` (kept on the scorer)."""
    cache = scorer.__dict__.setdefault("_refined_designs", {})
    if n_coalitions not in cache:
        params = dict(scorer.params)
        params["n_coalitions"] = n_coalitions
        if params.get("pairs"):  # the permutation kind grows its permutations per background row instead
            params["pairs"] = max(
                1, int(params["pairs"]) * n_coalitions // max(1, int(scorer.n_coalitions or 1))
            )
        params["seed"] = int(params.get("seed", 0)) + len(cache) + 1
        cache[n_coalitions] = type(scorer)(**params).fit(scorer._check_fitted())
    return cache[n_coalitions]


def refine(
    scorer: Any,
    x: np.ndarray,
    values: FloatArray,
    outputs: FloatArray,
    se: FloatArray,
    rel: float,
    target: float,
    deadline: float,
    population: int | None = None,
) -> Refined:
    """Refine rows ``x`` (encoded) explained as ``values`` with sampling errors ``se`` towards ``target``
    (per-row sigma, in the values' units) until ``deadline`` (a ``time.perf_counter()`` instant);
    ``population``: the training rows the background was sampled from (``sampling.with_se``)."""
    values, se = values.copy(), se.copy()
    est = combine(values, se, rel)
    n = len(x)
    first = int(scorer.n_coalitions or 0)
    coal = [first] * n
    status = [MET if est.rows[i] <= target else "" for i in range(n)]
    for i in range(n):
        if status[i]:
            continue
        if est.background[i] >= target:
            status[i] = FLOOR
            continue
        most = min(2 ** x.shape[1] - 2, GROWTH_CAP * first) if first else 0
        c = first
        while True:
            if c >= most or getattr(scorer, "exact", False):
                status[i] = COALITIONS
                break
            if time.perf_counter() >= deadline:
                status[i] = TIME
                break
            c = min(2 * c, most)
            v, _, s = with_se(_larger(scorer, c), population)(x[i : i + 1])
            values[i], se[i], coal[i] = v[0], s[0], c
            row = combine(values[i : i + 1], se[i : i + 1], rel)
            if row.rows[0] <= target:
                status[i] = MET
                break
    return Refined(values, outputs, combine(values, se, rel), status, coal)
