"""The black-box estimator, chosen per model at packaging by measured error (issue 24).

The ``kernel`` scorer (a shared KernelSHAP design on a small calibrated background) and the
``permutation`` scorer (antithetic permutations per row of a wide uniform background, the same model
evaluations per explained row, or more pairs in the same time where a chain path reads the model:
decision 45) are both measured against the full-data reference on the checked rows;
the one with the smaller error is served, and both errors are recorded (manifest
``fidelity.estimators``).  docs/fidelity.md (Black-box estimators side by side) explains the candidates.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from ..background import Background
from ..kinds.permutation import PermutationScorer, default_rows
from ..scoring_explainer import ScoringExplainer

Measure = Callable[[ScoringExplainer], float]  # an explainer's error on the checked rows
Rebuild = Callable[..., ScoringExplainer]


def takes_pool(n_pool: int, n_players: int) -> bool:
    """Whether ``choose``'s permutation candidate has every pool row as its background (its
    ``wide_background`` of ``default_rows`` rows): then its same-design values at the checked rows
    evaluate the hybrids of the checked rows' truth again (``tune``, ``replay.Replay``)."""
    return n_pool <= default_rows(n_players)


def wide_background(
    frame: pd.DataFrame, encoded_all: np.ndarray, pool: np.ndarray, rows: int, seed: int
) -> Background:
    """A uniform sample of ``rows`` pool rows (every pool row when there are fewer), equal weights."""
    picked = (
        pool
        if len(pool) <= rows
        else np.sort(np.random.default_rng(seed + 4).choice(pool, rows, replace=False))
    )
    method = "all" if len(picked) == len(frame) else "sample"
    return Background(
        frame.iloc[picked].reset_index(drop=True),
        encoded_all[picked],
        np.full(len(picked), 1.0 / len(picked)),
        method,
        len(frame),
    )


def choose(
    explainer: ScoringExplainer,
    frame: pd.DataFrame,
    encoded_all: np.ndarray,
    pool: np.ndarray,
    rebuild: Rebuild,
    measure: Measure,
    seed: int,
    say: Callable[[str], None],
) -> tuple[ScoringExplainer, dict[str, float]]:
    """The served ``kernel`` explainer or its ``permutation`` alternative, whichever measures closer to
    the full data; and every candidate's measured error by kind."""
    m = explainer.masking.n_players
    errors = {explainer.scorer.name: measure(explainer)}
    other = rebuild(
        wide_background(frame, encoded_all, pool, default_rows(m), seed), kind=PermutationScorer.name
    )
    errors[other.scorer.name] = measure(other)
    chain = other.scorer.params.get("chain") or {}
    pairs = other.scorer.params.get("pairs")
    way = f"by its chain path {chain['name']}" if chain.get("name") else "by hybrid rows"
    say(
        "estimator: "
        + ", ".join(f"{k} {v:.4f}" for k, v in errors.items())
        + f" on the checked rows (permutation: {pairs} pair(s) per background row {way}; one pair by hybrid"
        + " rows is the kernel's model evaluations per row)"
    )
    if errors[other.scorer.name] < errors[explainer.scorer.name]:
        return other, errors
    return explainer, errors
