"""``kernel``: KernelSHAP with a deterministic design and a precomputed projection; any model, any space.

Where a classifier explained in the probability (or log-odds) space has a margin with an exact scorer,
the estimate is anchored on it (``scorers.kinds.anchor``).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import numpy as np

from ..errors import InputError, UnsupportedModelError
from ..masking import Game
from ..shapley import CoalitionDesign, kernel_design
from .anchor import SECANT, anchor_plan, secant_slopes, slopes
from .base import REGISTRY, FitContext, FitOptions, FloatArray, Scorer, register
from .design import DesignScorer


def default_coalitions(n_players: int) -> int:
    """Budget of the kernel design: enough for the first size pairs and a paired sample of the rest.

    Grows like M log M; the design becomes exhaustive (hence exact) below about 9 players.
    """
    m = n_players
    return int(min(2**m - 2, max(4 * m + 64, 8 * m * math.ceil(math.log2(m + 1)))))


@register
class KernelScorer(DesignScorer):
    """KernelSHAP with a deterministic design and a precomputed projection; any model, any space."""

    name = "kernel"
    exact = False
    summary = "KernelSHAP on a design fixed at packaging (anchored on an exact margin where one exists)"
    auto_rank = 50

    def __init__(
        self,
        n_coalitions: int | None = None,
        seed: int = 0,
        anchor: str | None = None,
        estimator: str | None = None,
        **params: Any,
    ) -> None:
        super().__init__(n_coalitions=n_coalitions, seed=seed, **params)
        if estimator not in (None, SECANT) or (estimator is not None and anchor is None):
            raise InputError(
                f"expected no estimator or '{SECANT}' with an anchor, got {estimator!r}", field="estimator"
            )
        if n_coalitions == 0 and estimator != SECANT:
            raise InputError("0 coalitions is the secant estimator's alone", field="n_coalitions")
        if anchor is not None:  # recorded only when used, so plain manifests keep their params
            self.params["anchor"] = anchor
        if estimator is not None:
            self.params["estimator"] = estimator
        self.n_coalitions_param = n_coalitions
        self.seed = seed
        self.anchor = anchor
        self.estimator = estimator

    @classmethod
    def fit_params(cls, ctx: FitContext, options: FitOptions) -> dict[str, Any]:
        params: dict[str, Any] = {"n_coalitions": options.n_coalitions, "seed": options.seed}
        plan = _plan(ctx) if options.anchor else None
        if plan is not None and plan.space in REGISTRY[plan.scorer].native_spaces(
            ctx.head, ctx.task, ctx.mode, ctx.masking
        ):
            params["anchor"] = plan.key
            if options.anchor_estimator is not None and REGISTRY[plan.scorer].splits_background:
                params["estimator"] = options.anchor_estimator
        return params

    def _design(self, n_players: int) -> CoalitionDesign:
        if self.n_coalitions_param == 0:  # the secant alone: f(x) - f(b) is all the design knows
            empty = np.zeros((0, n_players), dtype=bool)
            return CoalitionDesign(
                empty, np.zeros((n_players, 0)), np.full(n_players, 1.0 / n_players), False
            )
        n = self.n_coalitions_param or default_coalitions(n_players)
        return kernel_design(n_players, n, seed=self.seed)

    def _restore(self, ctx: FitContext) -> None:
        """Anchored (see scorers.anchor): the joint game on the same background and the exact scorer."""
        self.anchor_: tuple[Game, Scorer] | None = None
        if self.anchor is None:
            return
        plan = _plan(ctx)
        if plan is None or plan.key != self.anchor:
            raise UnsupportedModelError(
                f"the kernel scorer was fitted anchored on '{self.anchor}', which this model does not offer"
            )
        game = ctx.game
        margin_game = Game(ctx.masking, plan.margin, game.background, game.weights)
        exact = REGISTRY[plan.scorer]().fit(replace(ctx, game=margin_game, space=plan.space))
        joint = Game(ctx.masking, plan.joint, game.background, game.weights)
        self.anchor_ = (joint, exact)
        self.joint_at_background_ = joint.fn(joint.background)  # each background row's own game starts here

    def _fit(self, ctx: FitContext) -> None:
        super()._fit(ctx)
        self._restore(ctx)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        anchored = getattr(self, "anchor_", None)
        if anchored is None or len(x) > 1 or not self._anchors_rows():
            return super().shap_values(x)
        joint, exact = anchored
        # per background row: the secant always (in slices of max_batch hybrids), the least-squares
        # slopes when the whole design fits one batch
        if self.estimator == SECANT or (
            exact.splits_background and len(self.masks_) * len(joint.weights) <= joint.max_batch
        ):
            both = joint.outputs(x)  # (1, K + K')
            per_b = self._anchored_rows(x, joint, exact, both)
            return np.einsum("b,bkm->km", joint.weights, per_b)[None], np.array(both[:, : per_b.shape[1]])
        ctx = self._check_fitted()
        k = ctx.game.base.shape[0]
        both = joint.outputs(x)  # (1, K + K')
        vals = joint.values(x, self.masks_)  # (1, C, K + K')
        v, u = vals[..., :k], vals[..., k:]
        fx, gx = both[:, :k], both[:, k:]
        base_f, base_g = joint.base[:k], joint.base[k:]
        phi = self._project(v - base_f, fx - base_f)
        psi = self._project(u - base_g, gx - base_g)
        psi_exact = exact.shap_values(x)[0]
        c = slopes(v, u)  # (1, K)
        phi += c[:, :, None] * (psi_exact - psi)
        return phi, np.array(fx)  # the joint function's target part is the game's own function

    def shap_values_with_se(self, x: np.ndarray) -> tuple[FloatArray, FloatArray, FloatArray]:
        """Anchored: the anchored values with the plain design's standard errors (an upper bound: the
        control variate only removes variance), at the cost of the plain design's evaluations."""
        if getattr(self, "anchor_", None) is None:
            return super().shap_values_with_se(x)
        values, outputs = self.shap_values(x)
        return values, outputs, super().shap_values_with_se(x)[2]

    def _anchors_rows(self) -> bool:
        """Whether the anchored estimate applies: a design, or the secant (which needs none)."""
        return self.masks_.shape[0] > 0 or self.estimator == SECANT

    def _anchored_split(
        self, x: np.ndarray, joint: Game, exact: Any, rows: slice, psi_all: FloatArray, both: FloatArray
    ) -> FloatArray:
        """One control variate per background row: the game is a weighted sum of one game per row b.

        Row b's game runs from f(b) to f(x), and its margin spans a narrower range than the pooled
        game's, so its own slope c_b fits the target better (the least-squares slope over the design, or
        the secant slope of the row's two ends, ``estimator="secant"``); each row's anchored estimate
        keeps additivity on its own.  Unweighted, for the background rows ``rows``: (nb', K, M).
        ``psi_all``: the exact scorer's ``background_split(x)``; ``both``: ``joint.outputs(x)``, (1, K + K').
        """
        k = self._check_fitted().game.base.shape[0]
        at_b = self.joint_at_background_[rows]  # (nb', K + K'): each row's empty coalition
        if len(self.masks_):
            sub = Game(joint.masking, joint.fn, joint.background[rows], np.ones(len(at_b)))
            hyb = sub.hybrid_values(x, self.masks_)  # (C, nb', K + K')
        else:
            hyb = np.empty((0, *at_b.shape))
        # each background row b is a game from v_b(empty) = f(b) to v_b(full) = f(x): (nb', K + K', M)
        est = self._project(np.swapaxes(hyb - at_b[None], 0, 1), both - at_b)
        if self.estimator == SECANT:
            c = secant_slopes(both[:, :k] - at_b[:, :k], both[:, k:] - at_b[:, k:])  # (nb', K)
        else:
            c = slopes(np.swapaxes(hyb[..., :k], 0, 1), np.swapaxes(hyb[..., k:], 0, 1))
        psi = psi_all[rows]  # (nb', K', M), unweighted
        return est[:, :k] + c[:, :, None] * (psi - est[:, k:])

    def background_split(self, x: np.ndarray) -> FloatArray:
        anchored = getattr(self, "anchor_", None)
        if anchored is None or not self._anchors_rows() or not anchored[1].splits_background:
            return super().background_split(x)
        joint, exact = anchored
        return self._anchored_rows(x[:1], joint, exact, joint.outputs(x[:1]))

    def _anchored_rows(self, x: np.ndarray, joint: Game, exact: Any, both: FloatArray) -> FloatArray:
        """``_anchored_split`` of every background row, in slices of ``max_batch`` hybrids, with the
        row's outputs ``both`` and the exact scorer's split computed once: (nb, K, M)."""
        step = max(1, joint.max_batch // max(1, len(self.masks_)))
        psi_all = exact.background_split(x)
        return np.concatenate(
            [
                self._anchored_split(x, joint, exact, slice(lo, lo + step), psi_all, both)
                for lo in range(0, len(joint.weights), step)
            ]
        )


def _plan(ctx: FitContext) -> Any:
    """The anchor the model offers in the context's space (scorers.kinds.anchor), or None."""
    return anchor_plan(
        ctx.head, ctx.task, ctx.space, ctx.mode, ctx.n_outputs, ctx.coalition_runtime, ctx.game.fn
    )
