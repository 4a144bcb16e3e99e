"""TreeSHAP (shap's interventional TreeExplainer) against the packaged background: exact.

Trees split on single engineered columns, so only maskings where each raw feature is one column
qualify; one-hot groups go to the enumeration or kernel scorers, where masking is per raw group.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from . import spaces
from .base import FitContext, FloatArray, Scorer, register
from .masking import GROUPED, IDENTITY, Masking
from .model import CLASSIFIER

_PROBABILITY_TREES = ("DecisionTreeClassifier", "RandomForestClassifier", "ExtraTreesClassifier")
_MARGIN_TREES = (
    "GradientBoostingClassifier",
    "HistGradientBoostingClassifier",
    "XGBClassifier",
    "LGBMClassifier",
)
_REGRESSION_TREES = (
    "DecisionTreeRegressor",
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "GradientBoostingRegressor",
    "HistGradientBoostingRegressor",
    "XGBRegressor",
    "LGBMRegressor",
)


@register
class TreeScorer(Scorer):
    name = "tree"
    exact = True
    _state_keys = ()

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        if head is None or mode not in (IDENTITY, GROUPED) or not masking.singleton:
            return []
        kind = type(head).__name__
        if kind in _PROBABILITY_TREES:
            return [spaces.PROBABILITY]
        if kind in _MARGIN_TREES:
            if kind == "HistGradientBoostingClassifier" and len(head.classes_) > 2:
                return []  # shap reads only binary HistGradientBoosting classifiers
            return [spaces.LOG_ODDS]
        if kind in _REGRESSION_TREES and task != CLASSIFIER:
            return [spaces.RAW]
        return []

    def _fit(self, ctx: FitContext) -> None:
        self._restore(ctx)

    def _restore(self, ctx: FitContext) -> None:
        import shap

        self.explainer_ = shap.TreeExplainer(
            ctx.head,
            data=np.asarray(ctx.game.background, dtype=np.float64),
            feature_perturbation="interventional",
            model_output="raw",
        )

    def engineered_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        ctx = self._check_fitted()
        sv = np.asarray(self.explainer_.shap_values(np.asarray(x, dtype=np.float64), check_additivity=False))
        if sv.ndim == 2:
            sv = sv[:, :, None]  # (n, d, 1)
        phi = np.transpose(sv, (0, 2, 1))  # (n, K', d)
        if ctx.task == CLASSIFIER and phi.shape[1] == 1:
            phi = np.concatenate([-phi, phi], axis=1)
        elif ctx.space == spaces.LOG_ODDS:
            phi = phi - phi.mean(axis=1, keepdims=True)
        return phi, ctx.game.outputs(x)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        phi, fx = self.engineered_values(x)
        return self.ctx_.masking.group_sum(phi), fx
