"""Full-data reference values: each pool row's own Shapley values, and their mean.

Interventional SHAP values are linear in the background's weights, so the value against all N training
rows is the mean of the values against each row alone (``Scorer.background_split``).  The pool is every
training row when the budget allows (then the mean *is* the full-data value, for an exact kind) and a
uniform random sample otherwise (then the mean is an unbiased estimate whose standard error is stated).

Two splits are computed:

- ``truth``, at the checked rows: exact values (the served kind when it is exact; full enumeration for
  the ``kernel`` kind when 2^M is small enough, else the served design, whose sampling error ``tune``
  then estimates apart);
- ``calib`` and ``check``, at the calibration and the checked rows, from the *calibration scorer*: the
  served kind, or for expensive designs (more than ``CALIB_COALITIONS`` coalitions) a KernelSHAP design
  of that size on the same game.  Background weights are fitted on these (``calibrate``); the stated
  error is always measured against ``truth``.

Rows that only state an error (the statement rows, the evaluation rows) need the truth alone:
``truth_at`` computes it with the truth scorer ``build`` fitted on the pool, and fits nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from ..kinds import Scorer
from ..kinds.exact import ExactScorer
from ..kinds.kernel import KernelScorer
from ..masking import Game
from ..runtimes.base import OutputFn
from .measure import FloatArray
from .replay import Replay

# memory for the splits of all checked and calibration rows (float64)
SPLIT_BYTES = 256 * 2**20
# enumerate for the kernel kind's reference when 2^M - 2 is at most this many times its coalitions
ENUMERATE_FACTOR = 4
# coalitions of the calibration design when the served game has more
CALIB_COALITIONS = 512


@dataclass
class PoolSplits:
    """Each pool row's own values at the checked and the calibration rows."""

    pool: np.ndarray  # indices of the pool rows among the training rows
    check: FloatArray  # (n_check, P, K, M) calibration scorer, at the checked rows
    calib: FloatArray  # (n_cal, P, K, M) calibration scorer, at the calibration rows
    outputs: FloatArray  # (P, K): the model at each pool row (a weighting's base value is w @ outputs)
    truth: FloatArray  # (n_check, P, K, M): each pool row's exact values at the checked rows
    exact: bool  # ``truth`` has no coalition sampling in it (an exact kind, or enumeration)
    label: str  # how the reference was computed, for the manifest's ``method``
    truth_scorer: Scorer  # fitted on the pool: ``truth_at`` computes more rows' truth with it
    fn: Replay  # the model function of the pool's scorers (``truth_at`` may record its outputs)

    def reference(self, columns: np.ndarray) -> FloatArray:
        """(n_check, K, M): the mean of the pool rows ``columns``' own values at the checked rows."""
        return self.truth[:, columns].mean(axis=1)

    def standard_error(self, columns: np.ndarray, n_train: int) -> float:
        """Of ``reference(columns)`` as an estimate of the full-data value, relative to its mean |value|."""
        if len(columns) >= n_train:
            return 0.0
        part = self.truth[:, columns]
        se = part.std(axis=1, ddof=1) / np.sqrt(len(columns)) * np.sqrt(1.0 - len(columns) / n_train)
        return float(np.mean(se) / max(float(np.mean(np.abs(part.mean(axis=1)))), 1e-300))


def pool_scorer(
    served: Scorer,
    background: np.ndarray,
    template: Scorer | None = None,
    weights: np.ndarray | None = None,
    fn: Callable[[np.ndarray], FloatArray] | None = None,
) -> Scorer:
    """A scorer like ``template`` (default: the served one) on ``background`` (equal weights by default),
    with the served scorer's model function (or ``fn``, the same function recorded: ``Replay``)."""
    ctx = served._check_fitted()
    w = np.full(len(background), 1.0 / len(background)) if weights is None else weights
    game = Game(ctx.masking, fn or ctx.game.fn, background, w)
    template = template or served
    return type(template)(**template.params).fit(replace(ctx, game=game))


def on_function(served: Scorer, fn: OutputFn) -> Scorer:
    """``served`` refitted on its own background with the model function ``fn`` (one fixed without
    timing), so that the reference, the calibration and the stated error do not depend on which
    coalition runtime won the timing at packaging (decision 52)."""
    ctx = served._check_fitted()
    game = Game(ctx.masking, fn, ctx.game.background, ctx.game.weights)
    return type(served)(**served.params).fit(replace(ctx, game=game))


def split_rows(scorer: Scorer, x: np.ndarray) -> FloatArray:
    """(n, d) encoded rows -> (n, P, K, M): every row's values against each background row alone."""
    if len(x) == 0:
        ctx = scorer._check_fitted()
        return np.empty((0, len(ctx.game.weights), len(ctx.game.base), ctx.masking.n_players))
    return np.stack([scorer.background_split(x[i : i + 1]) for i in range(len(x))])


@dataclass(frozen=True)
class Scorers:
    """The templates of the calibration and the truth scorers, and what the truth is."""

    calib: Scorer
    truth: Scorer
    exact: bool
    label: str


def templates(served: Scorer) -> Scorers:
    """The calibration scorer does not depend on the served design's size or seed: the calibrated
    background of a model is the same whatever coalition budget it is served with."""
    m = served._check_fitted().masking.n_players
    c = served.n_coalitions
    calib = served
    if c is not None:  # a design kind: enumeration where it is small, else a fixed KernelSHAP design
        calib = (
            ExactScorer(max_features=m)
            if 2**m - 2 <= CALIB_COALITIONS
            else KernelScorer(
                n_coalitions=CALIB_COALITIONS,
                seed=0,
                anchor=served.anchor if isinstance(served, KernelScorer) else None,
            )
        )
    if served.exact:
        return Scorers(calib, served, True, "")
    if c is not None and 2**m - 2 <= ENUMERATE_FACTOR * c:
        return Scorers(
            calib, ExactScorer(max_features=m), True, f", full enumeration of the 2^{m} coalitions"
        )
    # no exact truth: the background part is measured with the calibration design on both sides (its
    # sampling cancels), and ``tune`` adds the served design's own sampling error
    return Scorers(calib, calib, False, f", with a fixed {CALIB_COALITIONS}-coalition design on both sides")


def build(
    served: Scorer,
    which: Scorers,
    encoded_all: np.ndarray,
    x_check: np.ndarray,
    x_calib: np.ndarray,
    pool: np.ndarray,
    record_check: bool = False,
) -> PoolSplits:
    """The splits of the checked and the calibration rows against the pool rows ``pool``.
    ``record_check``: keep the model's outputs on the checked rows' truth for one replay each, where it
    is the calibration design (``truth_at``'s ``record``)."""
    pool_bg = encoded_all[pool]
    fn = Replay(served._check_fitted().game.fn)
    calib_scorer = pool_scorer(served, pool_bg, which.calib, fn=fn)
    calib = split_rows(calib_scorer, x_calib)
    if which.truth is which.calib:
        truth_scorer = calib_scorer
        fn.recording = record_check
        try:
            check = truth = split_rows(calib_scorer, x_check)
        finally:
            fn.recording = False
    else:
        truth_scorer = pool_scorer(served, pool_bg, which.truth, fn=fn)
        truth = split_rows(truth_scorer, x_check)
        check = split_rows(calib_scorer, x_check)
    outputs = fn(pool_bg)
    n_train, n_pool = len(encoded_all), len(pool)
    label = (
        f"each of the {n_pool} training rows as background"
        if n_pool == n_train
        else (f"a uniform sample of {n_pool} of the {n_train} training rows as background")
    )
    return PoolSplits(pool, check, calib, outputs, truth, which.exact, label + which.label, truth_scorer, fn)


def truth_at(splits: PoolSplits, x: np.ndarray, record: bool = False) -> PoolSplits:
    """``splits`` at rows ``x`` that only state an error (the statement and the evaluation rows): the
    truth alone, by the truth scorer already fitted on the same pool (their ``check`` is the truth, and
    they have no calibration rows).  ``record``: keep the model's outputs on the truth's hybrids for one
    replay each (``Replay``: a same-design scorer on the pool's rows, ``tune._error_at``)."""
    splits.fn.forget()
    splits.fn.recording = record
    try:
        truth = split_rows(splits.truth_scorer, x)
    finally:
        splits.fn.recording = False
    return replace(splits, check=truth, calib=truth[:0], truth=truth)
