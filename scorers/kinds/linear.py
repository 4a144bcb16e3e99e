"""Closed-form SHAP values of linear models: phi_c = w_c (z_c - E_b[z_c]) per engineered column.

A column-wise preprocessor keeps the model additive over raw groups, so the raw value of a group is the
sum of its columns' values, exactly.  Shape per row: (K, M); binary classifiers give [-phi, phi].

A linear head read from an ONNX graph (``runtimes.onnx_linear``, marked ``read_from_onnx_``) is
explained exactly as read, in float64; its outputs and base value are then the head's own, not
onnxruntime's float32 scores (checked equal to a float32-scale tolerance on every packaged row), so the
values stay additive to 1e-6 (decision 23).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import spaces
from ..masking import GROUPED, IDENTITY, Masking
from ..runtimes.base import CLASSIFIER
from ..runtimes.sklearn import estimator_output, is_margin_model
from .base import FitContext, FloatArray, Scorer, register


def _is_linear(head: Any) -> bool:
    from sklearn.linear_model import SGDRegressor
    from sklearn.linear_model._base import LinearClassifierMixin, LinearModel
    from sklearn.svm import LinearSVC, LinearSVR

    # SGDRegressor predicts X @ coef_ + intercept_ but is not a LinearModel subclass
    return isinstance(
        head, (LinearModel, LinearClassifierMixin, LinearSVC, LinearSVR, SGDRegressor)
    ) and hasattr(head, "coef_")


@register
class LinearScorer(Scorer):
    name = "linear"
    exact = True
    summary = "closed form w (x - E[x]) for linear models, exact per engineered column"
    auto_rank = 10
    splits_background = True
    _state_keys = ("coef_", "mean_")

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        return 1000, "sample"  # only the mean matters: use many rows

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        if mode not in (IDENTITY, GROUPED) or head is None or not _is_linear(head):
            return []
        if task != CLASSIFIER:
            return [spaces.RAW]
        return [spaces.LOG_ODDS, spaces.RAW] if is_margin_model(head) else [spaces.RAW]

    def _fit(self, ctx: FitContext) -> None:
        coef = np.atleast_2d(np.asarray(ctx.head.coef_, dtype=np.float64))  # (K', d)
        if ctx.task == CLASSIFIER and coef.shape[0] == 1:
            coef = np.vstack([-coef[0], coef[0]])  # [-m, m]
        elif ctx.space == spaces.LOG_ODDS:
            coef = coef - coef.mean(axis=0, keepdims=True)
        self.coef_ = coef
        self.mean_ = ctx.game.weights @ ctx.game.background.astype(np.float64)
        self._restore(ctx)

    def _restore(self, ctx: FitContext) -> None:
        self.own_ = (
            estimator_output(ctx.head, ctx.space, ctx.task, ctx.n_outputs)
            if getattr(ctx.head, "read_from_onnx_", False)
            else None
        )

    def outputs(self, x: np.ndarray) -> FloatArray:
        own = getattr(self, "own_", None)
        return super().outputs(x) if own is None else np.asarray(own(np.asarray(x, dtype=np.float64)))

    @property
    def base_values(self) -> FloatArray:
        ctx = self._check_fitted()
        own = getattr(self, "own_", None)
        return ctx.game.base if own is None else ctx.game.weights @ self.outputs(ctx.game.background)

    def engineered_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        self._check_fitted()
        phi = (x - self.mean_)[:, None, :] * self.coef_[None, :, :]  # (n, K, d)
        return phi, self.outputs(x)

    def background_split(self, x: np.ndarray) -> FloatArray:
        ctx = self._check_fitted()
        b = ctx.game.background.astype(np.float64)  # (nb, d)
        phi = (x[:1] - b)[:, None, :] * self.coef_[None, :, :]  # (nb, K, d)
        return ctx.masking.group_sum(phi)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        phi, fx = self.engineered_values(x)
        return self.ctx_.masking.group_sum(phi), fx
