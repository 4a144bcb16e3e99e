"""Exact interventional SHAP values of RBF kernel machines, in closed form.

The decision function of an RBF kernel machine is ``f(x) = b0 + sum_i alpha_i prod_k a_ik(x)`` with
``a_ik = exp(-gamma * sum_{c in k} (x_c - sv_ic)^2)`` a product over raw groups ``k``.  Against one
background row ``b`` (``c_ikb`` the same factor at ``b``), the game of one support vector is a product
game, whose Shapley value is

    phi_j = alpha_i (a_ij - c_ijb) * integral_0^1 prod_{k != j} ((1 - t) c_ikb + t a_ik) dt.

The integrand is a polynomial of degree M-1 in t, so Gauss-Legendre with ceil(M/2) nodes is exact.
Every factor lies in [0, 1] and the full product is formed once per node; the leave-one-out product
times ``(a_j - c_j)`` is ``total * (a_j - c_j) / g_j``, a bounded ratio, so that the sum over nodes,
background rows and support vectors is one matrix-vector product.  An underflow to zero is an absolute
error below 1e-300.
Explained space: ``raw`` (the decision function; not predict_proba, which libsvm calibrates apart).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from .. import spaces
from ..masking import GROUPED, IDENTITY, Masking
from ..runtimes.base import CLASSIFIER
from .base import FitContext, FloatArray, Scorer, register

# absolute bound on the error of pruning negligible (background row, support vector) pairs
PRUNE_TOL = 1e-14


def _rbf_parts(head: Any) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    """(support vectors (S, d), alpha (S,), intercept, gamma) or None if not an RBF kernel machine."""
    kind = type(head).__name__
    if kind in ("SVC", "NuSVC", "SVR", "NuSVR") and getattr(head, "kernel", None) == "rbf":
        if kind in ("SVC", "NuSVC") and len(head.classes_) != 2:
            return None  # one-vs-one votes are not a kernel sum
        return (
            np.asarray(head.support_vectors_, dtype=np.float64),
            np.asarray(head.dual_coef_[0], dtype=np.float64),
            float(np.ravel(head.intercept_)[0]),
            float(head._gamma),
        )
    if kind == "KernelRidge" and head.kernel == "rbf":
        dual = np.asarray(head.dual_coef_, dtype=np.float64)
        if dual.ndim > 1 and dual.shape[1] != 1:
            return None
        x_fit = np.asarray(head.X_fit_, dtype=np.float64)
        gamma = head.gamma if head.gamma is not None else 1.0 / x_fit.shape[1]
        return x_fit, dual.reshape(-1), 0.0, float(gamma)
    return None


@register
class KernelMachineScorer(Scorer):
    name = "kernel_machine"
    exact = True
    summary = "closed form (Gauss-Legendre) for RBF SVC/SVR/KernelRidge margins, exact"
    splits_background = True
    auto_rank = 30
    _state_keys = ("support_", "alpha_", "gamma_", "nodes_", "node_weights_", "log_c_")

    @classmethod
    def native_spaces(cls, head: Any, task: str, mode: str, masking: Masking, **params: Any) -> list[str]:
        if head is None or mode not in (IDENTITY, GROUPED) or _rbf_parts(head) is None:
            return []
        return [spaces.RAW]

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        return 50, "kmeans"

    def _fit(self, ctx: FitContext) -> None:
        parts = _rbf_parts(ctx.head)
        assert parts is not None
        self.support_, self.alpha_, _, gamma = parts
        self.gamma_ = np.array(gamma)
        m = ctx.masking.n_players
        nodes, weights = np.polynomial.legendre.leggauss(max(1, (m + 1) // 2))
        self.nodes_ = (nodes + 1.0) / 2.0
        self.node_weights_ = weights / 2.0
        self.log_c_ = self._log_factors(ctx.game.background.astype(np.float64))  # (nb, S, M)

    def _log_factors(self, z: np.ndarray) -> np.ndarray:
        """-gamma * squared distance per raw group: (n, d) -> (n, S, M)."""
        sq = (z[:, None, :] - self.support_[None, :, :]) ** 2  # (n, S, d)
        return -float(self.gamma_) * self.ctx_.masking.group_sum(sq)

    def background_split(self, x: np.ndarray) -> FloatArray:
        return self._values(x, per_background=True, unweighted=True)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        return self._values(x), self._check_fitted().game.outputs(x)

    def node_terms(self, x: np.ndarray, weights: FloatArray) -> Iterator[tuple[np.ndarray, FloatArray, FloatArray]]:
        """Per row: the kept (background row, support vector) pairs' background rows (P,), the weights
        ``node weight * w_b * alpha_i * prod_k g_k`` (Q, P) and the ratios ``(a_j - c_j) / g_j`` (Q, P, M)
        at the Gauss-Legendre nodes.  phi_j sums coef * ratio_j; a pair's Shapley interaction index sums
        coef * ratio_j * ratio_l (scorers.interactions)."""
        log_a = self._log_factors(np.asarray(x, dtype=np.float64))  # (n, S, M)
        c_all = np.exp(self.log_c_)  # (nb, S, M)
        scale = np.abs(weights[:, None] * self.alpha_[None, :])  # (nb, S)
        t = self.nodes_[:, None, None]
        for r in range(x.shape[0]):
            # |contribution of (b, i) to any phi_j| (or interaction index) <= |alpha_i| w_b prod_k
            # max(a_ik, c_ikb): drop the pairs whose bounds sum to under PRUNE_TOL (an absolute error
            # bound, far below the 1e-12 we test).
            bound = scale * np.exp(np.maximum(log_a[r][None], self.log_c_).sum(axis=-1))  # (nb, S)
            flat = bound.reshape(-1)
            order = np.argsort(flat)
            dropped = np.searchsorted(np.cumsum(flat[order]), PRUNE_TOL)
            keep = order[dropped:]
            b_idx, s_idx = np.unravel_index(keep, bound.shape)
            c = c_all[b_idx, s_idx]  # (P, M)
            diff = np.exp(log_a[r])[s_idx] - c  # a_ij - c_ijb
            g = t * diff[None] + c[None]  # (Q, P, M): the factors (1-t) c + t a at every node
            total = np.prod(g, axis=-1)  # (Q, P)
            # leave-one-out product times (a_j - c_j) = total * diff_j / g_j.  g_j >= min(t, 1-t) |diff_j|,
            # so the ratio is bounded; g_j == 0 only when a_j and c_j both underflow, and then the term is 0.
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(diff[None], g, out=g)
            np.nan_to_num(g, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
            coef = self.node_weights_[:, None] * (weights[b_idx] * self.alpha_[s_idx])[None, :] * total
            yield b_idx, coef, g

    def _values(self, x: np.ndarray, per_background: bool = False, unweighted: bool = False) -> FloatArray:
        ctx = self._check_fitted()
        weights = np.ones_like(ctx.game.weights) if unweighted else ctx.game.weights
        nb, m = self.log_c_.shape[0], self.log_c_.shape[2]
        phi = np.empty((x.shape[0], m))
        split = np.zeros((nb, m))
        for r, (b_idx, coef, g) in enumerate(self.node_terms(x, weights)):
            if per_background:  # one row: the sum over nodes per pair, then over each background row's pairs
                pair = np.einsum("qp,qpm->pm", coef, g)
                for j in range(m):
                    split[:, j] = np.bincount(b_idx, weights=pair[:, j], minlength=nb)
            else:
                phi[r] = coef.reshape(-1) @ g.reshape(-1, g.shape[-1])
        out = split[:, None, :] if per_background else phi[:, None, :]
        if ctx.task == CLASSIFIER:
            return np.concatenate([-out, out], axis=1)
        return out
