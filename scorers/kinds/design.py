"""The shared base of the model-agnostic scorers (``exact``, ``kernel``): a coalition design fixed at fit.

Both evaluate the interventional game on a fixed set of coalitions and turn the values into Shapley
values with a linear map computed once (``scorers.shapley``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from .. import spaces
from ..errorbars.sampling import standard_errors
from ..masking import Game, Masking
from ..runtimes.base import CLASSIFIER
from ..shapley import CoalitionDesign
from .base import FitContext, FloatArray, Scorer


def black_box_spaces(head: Any, task: str) -> list[str]:
    """Spaces a black-box scorer explains: what the model (or its head) can output."""
    if task != CLASSIFIER:
        return [spaces.RAW]
    out = []
    if head is None or hasattr(head, "predict_proba"):
        out += [spaces.PROBABILITY, spaces.LOG_ODDS]
    if head is not None and hasattr(head, "decision_function"):
        out.append(spaces.RAW)
    return out


class DesignScorer(Scorer):
    black_box = True
    evaluates_coalitions = True
    splits_background = True
    rows_alone = True  # shap_values below: one row per model call
    _state_keys: ClassVar[tuple[str, ...]] = ("masks_", "projection_", "full_weight_")

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        return black_box_spaces(head, task)

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
        return self._project(v - game.base, fx - game.base), fx

    def shap_values_with_se(self, x: np.ndarray) -> tuple[FloatArray, FloatArray, FloatArray]:
        if len(x) > 1:
            parts = [self.shap_values_with_se(np.ascontiguousarray(x[i : i + 1])) for i in range(len(x))]
            return tuple(np.concatenate([p[j] for p in parts]) for j in range(3))  # type: ignore[return-value]
        ctx = self._check_fitted()
        game = ctx.game
        fx = game.outputs(x)
        if self.masks_.shape[0] == 0:
            phi = (fx - game.base)[:, :, None]
            return phi, fx, np.zeros_like(phi)
        dv = game.values(x, self.masks_) - game.base
        phi = self._project(dv, fx - game.base)
        if len(self.masks_) >= 2 ** self.masks_.shape[1] - 2:  # every coalition: the Shapley formula
            return phi, fx, np.zeros_like(phi)
        return phi, fx, standard_errors(self.masks_, self.projection_, dv, phi)

    def _project(self, dv: FloatArray, df: FloatArray) -> FloatArray:
        """Shapley values from the coalition values and f(x), both less the empty coalition's value:
        (n, C, K) and (n, K) -> (n, K, M)."""
        phi = np.einsum("mc,nck->nkm", self.projection_, dv)
        phi += df[:, :, None] * self.full_weight_[None, None, :]
        return phi

    def background_split(self, x: np.ndarray) -> FloatArray:
        """Each background row b is a game from f(b) (empty coalition) to f(x) (full coalition)."""
        ctx = self._check_fitted()
        game = ctx.game
        fx = game.outputs(x[:1])  # (1, K)
        at_b = game.fn(game.background)  # (nb, K)
        if self.masks_.shape[0] == 0:
            return (fx - at_b)[:, :, None]
        nb = len(at_b)
        step = max(1, game.max_batch // len(self.masks_))
        parts = []
        for lo in range(0, nb, step):
            sub = Game(ctx.masking, game.fn, game.background[lo : lo + step], np.ones(min(step, nb - lo)))
            hyb = sub.hybrid_values(x[:1], self.masks_)  # (C, nb', K)
            parts.append(
                self._project(np.swapaxes(hyb - at_b[lo : lo + step][None], 0, 1), fx - at_b[lo : lo + step])
            )
        return np.concatenate(parts)

    @property
    def n_coalitions(self) -> int:
        return int(self.masks_.shape[0])
