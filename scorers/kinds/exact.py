"""``exact``: full enumeration of the 2^M coalitions, exact for any model with a few raw features."""

from __future__ import annotations

from typing import Any

from ..masking import Masking
from ..shapley import CoalitionDesign, enumeration_design
from .base import FitContext, FitOptions, register
from .design import DesignScorer, black_box_spaces


@register
class ExactScorer(DesignScorer):
    name = "exact"
    exact = True
    summary = "enumerates all 2^M coalitions: exact for any model, up to max_features (12) raw features"
    auto_rank = 40

    def __init__(self, max_features: int = 12, **params: Any) -> None:
        super().__init__(max_features=max_features, **params)
        self.max_features = max_features

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        if masking.n_players > params.get("max_features", 12):
            return []
        return black_box_spaces(head, task)

    @classmethod
    def why_not(cls, head: Any, mode: str, masking: Masking, options: FitOptions) -> str:
        cap = options.max_exact_features
        if masking.n_players > cap:
            return (
                f"the exact scorer enumerates 2^M coalitions and is capped at {cap} features; "
                f"this model has {masking.n_players} (raise max_features or use kernel)"
            )
        return super().why_not(head, mode, masking, options)

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        # calibrated (scorers.fidelity), so more rows buy accuracy: twice the old 2^17 / 2^M coalition-rows
        return int(max(16, min(100, 2**18 // 2**n_players))), "kmeans"

    @classmethod
    def fit_params(cls, ctx: FitContext, options: FitOptions) -> dict[str, Any]:
        return {"max_features": options.max_exact_features}

    def _design(self, n_players: int) -> CoalitionDesign:
        return enumeration_design(n_players)
