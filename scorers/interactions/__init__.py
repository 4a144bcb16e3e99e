"""Pairwise Shapley interaction values of a fitted explainer (the definition: ``values``).

The one decision of this room, ``pair_index``: which method computes a kind's SII, exactly where the
model's structure allows it, against the packaged background, weights and players.

| kind | method | |
|---|---|---|
| linear | ``linear`` | additive over players: every SII is 0 (exact) |
| tree | ``tree`` | the leaf patterns' pair table (exact); deep ensembles as any other model |
| kernel_machine | ``kernel_machine`` | the product form, Gauss-Legendre (exact) |
| any, M <= 12 | ``enumeration`` | all 2^M coalitions (exact) |
| any, M > 12 | ``sampling`` | sampled coalitions, a standard error per cell (estimated) |

The diagonal carries each feature's SHAP value less its row's interactions, with the SHAP values the
scorer serves: rows sum to ``/explain``'s values whatever the method.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..kinds.kernel_machine import KernelMachineScorer
from ..kinds.linear import LinearScorer
from ..kinds.tree import TreeScorer
from . import enumeration, kernel_machine, sampling, tree
from .values import Interactions, PairIndex, assemble, cell_errors

if TYPE_CHECKING:
    from ..scoring_explainer import ScoringExplainer

__all__ = ["Interactions", "PairIndex", "assemble", "interactions", "pair_index"]

_NOTES = {
    "linear": "a linear model is additive over its features: no interactions (off-diagonal values are 0)",
    "tree": "exact interventional Shapley interaction index over the tree ensemble's leaves",
    "kernel_machine": "exact Shapley interaction index of the RBF kernel machine (product form)",
    "enumeration": "exact Shapley interaction index over all 2^M coalitions",
    "sampling": "estimated Shapley interaction index ({draws} draws per quadrature node); "
    "interaction_errors holds one standard error per value",
}


def pair_index(explainer: ScoringExplainer, x: np.ndarray) -> tuple[str, PairIndex]:
    """(method, SII (n, K, M, M)) of encoded rows ``x``: see the table above."""
    scorer, game = explainer.scorer, explainer.scorer.ctx_.game
    m = explainer.masking.n_players
    if isinstance(scorer, LinearScorer):
        k = scorer.base_values.shape[0]
        return "linear", PairIndex(np.zeros((x.shape[0], k, m, m)))
    if isinstance(scorer, TreeScorer) and tree.fits(scorer):
        return "tree", tree.pair_index(scorer, x)
    if isinstance(scorer, KernelMachineScorer):
        return "kernel_machine", kernel_machine.pair_index(scorer, x)
    if m <= enumeration.MAX_PLAYERS:
        return "enumeration", enumeration.pair_index(game, x)
    return "sampling", sampling.pair_index(game, x)


def interactions(
    explainer: ScoringExplainer, frame: pd.DataFrame, cancel: Callable[[], bool] | None = None
) -> Interactions:
    """Pairwise interaction values of validated rows (``ScoringExplainer.interactions``): the SHAP
    values and the SII of each slice of rows together, ``cancel`` asked between slices."""
    x = explainer.masking.encode(frame)
    chosen: list[tuple[str, bool]] = []  # (method, exact): the same for every slice

    def compute(rows: np.ndarray) -> tuple[np.ndarray, ...]:
        shap_values, outputs = explainer.scorer.shap_values(rows)
        method, index = pair_index(explainer, rows)
        chosen.append((method, index.error is None))
        error = np.full_like(index.sii, np.nan) if index.error is None else index.error
        return shap_values, outputs, index.sii, error

    shap_values, outputs, sii, error = explainer.in_slices(compute, x, cancel)
    method, exact = chosen[0]
    return Interactions(
        values=assemble(sii, shap_values),
        shap_values=shap_values,
        base_values=np.asarray(explainer.expected_values, dtype=np.float64),
        outputs=outputs,
        features=explainer.features,
        classes=explainer.classes,
        output_space=explainer.output_space,
        method=method,
        exact=exact,
        note=_NOTES[method].format(draws=sampling.DRAWS_PER_NODE),
        errors=None if exact else cell_errors(error),
    )
