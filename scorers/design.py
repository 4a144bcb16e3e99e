"""Model-agnostic scorers over a coalition design fixed at fit time: ``exact`` and ``kernel``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import spaces
from .base import FitContext, FloatArray, Scorer, register
from .masking import Masking
from .model import CLASSIFIER
from .shapley import CoalitionDesign, enumeration_design, kernel_design


def _black_box_spaces(head: Any, task: str) -> list[str]:
    if task != CLASSIFIER:
        return [spaces.RAW]
    out = []
    if head is None or hasattr(head, "predict_proba"):
        out += [spaces.PROBABILITY, spaces.LOG_ODDS]
    if head is not None and hasattr(head, "decision_function"):
        out.append(spaces.RAW)
    return out


class _DesignScorer(Scorer):
    evaluates_coalitions = True
    _state_keys = ("masks_", "projection_", "full_weight_")

    def _design(self, n_players: int) -> CoalitionDesign:
        raise NotImplementedError

    def _fit(self, ctx: FitContext) -> None:
        design = self._design(ctx.masking.n_players)
        self.masks_ = design.masks
        self.projection_ = design.projection
        self.full_weight_ = design.full_weight

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        if len(x) > 1:
            # one row per model call: a model's output for a row can depend on the rows batched with it
            # (BLAS takes gemv for one row, gemm for several, and blocks rows by 4), and a row's
            # explanation must not depend on the request it arrives in
            parts = [self.shap_values(np.ascontiguousarray(x[i : i + 1])) for i in range(len(x))]
            return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
        ctx = self._check_fitted()
        game = ctx.game
        fx = game.outputs(x)  # (n, K)
        if self.masks_.shape[0] == 0:  # a single player takes the whole difference
            return (fx - game.base)[:, :, None], fx
        v = game.values(x, self.masks_)  # (n, C, K)
        phi = np.einsum("mc,nck->nkm", self.projection_, v - game.base)
        phi += (fx - game.base)[:, :, None] * self.full_weight_[None, None, :]
        return phi, fx

    @property
    def n_coalitions(self) -> int:
        return int(self.masks_.shape[0])


@register
class ExactScorer(_DesignScorer):
    """Full enumeration of the 2^M coalitions: exact for any model, for a few raw features."""

    name = "exact"
    exact = True

    def __init__(self, max_features: int = 12, **params: Any) -> None:
        super().__init__(max_features=max_features, **params)
        self.max_features = max_features

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        if masking.n_players > params.get("max_features", 12):
            return []
        return _black_box_spaces(head, task)

    def _design(self, n_players: int) -> CoalitionDesign:
        return enumeration_design(n_players)


def default_coalitions(n_players: int) -> int:
    """Budget of the kernel design: enough for the first size pairs and a paired sample of the rest.

    Grows like M log M; the design becomes exhaustive (hence exact) below about 9 players.
    """
    m = n_players
    return int(min(2**m - 2, max(4 * m + 64, 8 * m * math.ceil(math.log2(m + 1)))))


@register
class KernelScorer(_DesignScorer):
    """KernelSHAP with a deterministic design and a precomputed projection; any model, any space."""

    name = "kernel"
    exact = False

    def __init__(self, n_coalitions: int | None = None, seed: int = 0, **params: Any) -> None:
        super().__init__(n_coalitions=n_coalitions, seed=seed, **params)
        self.n_coalitions_param = n_coalitions
        self.seed = seed

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        return _black_box_spaces(head, task)

    def _design(self, n_players: int) -> CoalitionDesign:
        n = self.n_coalitions_param or default_coalitions(n_players)
        return kernel_design(n_players, n, seed=self.seed)
