"""Anchored KernelSHAP: an exact margin explanation as a control variate for a sampled one.

A classifier's probabilities are a smooth function of a margin (the SVM decision value behind Platt's
sigmoid, the logits of logistic regression and gradient boosting), and for many models the margin has
exact interventional SHAP values that are cheap (``kernel_machine``, ``tree``).  When the
kernel scorer explains such a model in the probability (or log-odds) space, it evaluates the margin ``g``
on the same hybrids as the target ``f`` (one model pass gives both) and corrects its estimate:

    phi_f = K(v_f) + c * (phi_g_exact - K(v_g))

``K`` is the kernel scorer's fixed linear map from coalition values to Shapley values.  The correction
has zero mean whatever ``c`` is, removes every error that ``f`` shares with ``c g`` (all of ``g``'s
interactions, not only its additive part), and keeps additivity: ``K`` and the exact scorer both sum to
``g(x) - E g``.  ``c`` is, per row and class, the least-squares slope of ``v_f`` on ``v_g`` over the
design's coalitions (the optimal control-variate coefficient there).  Where the exact scorer splits
its values by background row (``kernel_machine``), so does the estimate: the game is a weighted sum of one
game per background row, each gets its own slope, which fits better because a single row's hybrids span
a narrower range of the margin.  This is Goldwasser and Hooker's
control-variate idea, with an exact rather than a sampled reference.

The ``secant`` estimator (``KernelScorer(estimator="secant")``) fixes each background row's coefficient
before any coalition is drawn: the secant slope ``s_b = (f(x) - f(b)) / (g(x) - g(b))`` of the target on
the margin between the row's two ends.  Then ``phi_b = K(v_f) + s_b (psi_b - K(v_g))`` samples only the
residual game ``f - s_b g`` (which is 0 at both ends), stays additive, is exact when the design is
(whatever ``s_b``), and with no coalitions at all is the secant alone, ``s_b psi_b``: exact when ``f`` is
a linear function of ``g``.  Which estimator, and how many coalitions, is measured at packaging
(``scorers.fidelity.tune``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import spaces
from ..masking import GROUPED, IDENTITY
from ..runtimes.base import CLASSIFIER
from ..runtimes.fastpaths import RbfSvcProba
from ..runtimes.sklearn import estimator_output, is_margin_model

Fn = Callable[[np.ndarray], np.ndarray]
SECANT = "secant"  # the kernel kind's anchored estimator with the secant slopes (None: least squares)
# |g(x) - g(b)| at most this fraction of the row's largest has no secant (scorers.kinds.anchor.secant_slopes)
SECANT_FLOOR = 1e-9


@dataclass
class AnchorPlan:
    """How to anchor: the exact scorer and its space, the joint model function and the margin alone."""

    scorer: str
    space: str
    joint: Fn  # hybrids (n, d) -> (n, K + K'): target space, then margin space
    margin: Fn  # hybrids (n, d) -> (n, K')

    @property
    def key(self) -> str:
        return f"{self.scorer}:{self.space}"


def _svc_plan(fast: RbfSvcProba, space: str) -> AnchorPlan:
    def margin(h: np.ndarray) -> np.ndarray:
        return spaces.from_margin(fast.decision_function(h), spaces.RAW, 2)

    def joint(h: np.ndarray) -> np.ndarray:
        d = fast.decision_function(h)
        target = spaces.from_probability(fast.proba_from_decision(d), space)
        return np.concatenate([target, spaces.from_margin(d, spaces.RAW, 2)], axis=1)

    return AnchorPlan("kernel_machine", spaces.RAW, joint, margin)


def anchor_plan(
    head: Any, task: str, space: str, mode: str, n_classes: int, coalition_runtime: str, target: Fn
) -> AnchorPlan | None:
    """The anchor for a kernel scorer explaining ``head`` in ``space``, or None where there is none.

    ``target`` is the coalition function already chosen for ``space``; the joint function reproduces
    it exactly (the same code on the same rows), so anchored and plain explanations share outputs.
    """
    if task != CLASSIFIER or head is None or mode not in (IDENTITY, GROUPED):
        return None
    if space not in (spaces.PROBABILITY, spaces.LOG_ODDS):
        return None
    if coalition_runtime == RbfSvcProba.name and RbfSvcProba.applies(head):
        return _svc_plan(RbfSvcProba(head), space)
    if space == spaces.PROBABILITY and is_margin_model(head):
        # The margin models are linear models and boosted trees.  A linear margin is additive, and
        # KernelSHAP is already exact on an additive game: anchoring would add exactly zero.  Trees have
        # interactions, so the anchor helps; whether the tree scorer can read this ensemble is decided
        # by its native_spaces where the plan is taken up (KernelScorer.fit_params).
        from .linear import _is_linear

        if _is_linear(head):
            return None
        margin = estimator_output(head, spaces.LOG_ODDS, task, n_classes)

        def joint(h: np.ndarray) -> np.ndarray:
            return np.concatenate([target(h), margin(h)], axis=1)

        return AnchorPlan("tree", spaces.LOG_ODDS, joint, margin)
    return None


def slopes(v: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Least-squares slope of v on u over coalitions, per row and output: (n, C, K) x2 -> (n, K)."""
    dv = v - v.mean(axis=1, keepdims=True)
    du = u - u.mean(axis=1, keepdims=True)
    var = np.einsum("nck,nck->nk", du, du)
    cov = np.einsum("nck,nck->nk", dv, du)
    scale = np.einsum("nck,nck->nk", dv, dv)
    # no variance in the margin (or none in the target) means no information: leave the estimate alone
    ok = var > 1e-12 * np.maximum(scale, 1e-300)
    return np.where(ok, cov / np.where(ok, var, 1.0), 0.0)


def secant_slopes(df: np.ndarray, dg: np.ndarray) -> np.ndarray:
    """Each background row's secant slope (f(x) - f(b)) / (g(x) - g(b)): (nb, K) x2 -> (nb, K).

    Where g(x) == g(b) (|dg| within ``SECANT_FLOOR`` of the largest over the rows) there is no secant:
    the row takes the pooled slope sum(df dg) / sum(dg^2) of the rows that have one (0 when none has).
    The values stay additive whatever the slope: ``K`` spreads the row's remainder df - s dg.
    """
    scale = np.max(np.abs(dg), axis=0, keepdims=True)
    ok = np.abs(dg) > SECANT_FLOOR * scale
    den = np.sum(np.where(ok, dg * dg, 0.0), axis=0)
    pooled = np.where(den > 0, np.sum(np.where(ok, df * dg, 0.0), axis=0) / np.where(den > 0, den, 1.0), 0.0)
    return np.where(ok, df / np.where(ok, dg, 1.0), pooled[None, :])
