"""Exact interventional SHAP values of RBF kernel machines, in closed form.

The decision function of an RBF kernel machine is ``f(x) = b0 + sum_i alpha_i prod_k a_ik(x)`` with
``a_ik = exp(-gamma * sum_{c in k} (x_c - sv_ic)^2)`` a product over raw groups ``k``.  Against one
background row ``b`` (``c_ikb`` the same factor at ``b``), the game of one support vector is a product
game, whose Shapley value is

    phi_j = alpha_i (a_ij - c_ijb) * integral_0^1 prod_{k != j} ((1 - t) c_ikb + t a_ik) dt.

The integrand is a polynomial of degree M-1 in t, so Gauss-Legendre with ceil(M/2) nodes is exact.
Every factor lies in [0, 1]; the leave-one-out products at every node are prefix times suffix products
(no division), summed over nodes by one matrix-vector product.  An underflow to zero is an absolute
error below 1e-300.  The (background row, support vector) pairs are computed in cache-sized blocks, and
the pairs whose bounds sum to under PRUNE_TOL are skipped (docs/performance.md).
Explained space: ``raw`` (the decision function; not predict_proba, which libsvm calibrates apart).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import spaces
from ..masking import GROUPED, IDENTITY, Masking
from ..runtimes.base import CLASSIFIER
from .base import FitContext, FloatArray, Scorer, register

# absolute bound on the error of pruning negligible (background row, support vector) pairs
PRUNE_TOL = 1e-14
# pairs computed together: (nodes, pairs, players) blocks of a few MB stay in cache across the passes
PAIR_BLOCK = 256


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
    def default_background(cls, n_players: int) -> tuple[int, str]:
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
        self._restore(ctx)

    def _log_factors(self, z: np.ndarray) -> np.ndarray:
        """-gamma * squared distance per raw group: (n, d) -> (n, S, M)."""
        sq = (z[:, None, :] - self.support_[None, :, :]) ** 2  # (n, S, d)
        return -float(self.gamma_) * self.ctx_.masking.group_sum(sq)

    def background_split(self, x: np.ndarray) -> FloatArray:
        return self._values(x, per_background=True, unweighted=True)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        return self._values(x), self._check_fitted().game.outputs(x)

    def _values(self, x: np.ndarray, per_background: bool = False, unweighted: bool = False) -> FloatArray:
        ctx = self._check_fitted()
        weights = np.ones_like(ctx.game.weights) if unweighted else ctx.game.weights
        log_a = self._log_factors(np.asarray(x, dtype=np.float64))  # (n, S, M)
        scale = np.abs(weights[:, None] * self.alpha_[None, :])  # (nb, S)
        nb, m = self.log_c_.shape[0], log_a.shape[2]
        out = np.zeros((nb if per_background else x.shape[0], m))
        for r in range(x.shape[0]):
            b_idx, s_idx = _kept_pairs(scale * np.exp(np.maximum(log_a[r][None], self.log_c_).sum(axis=-1)))
            a = np.exp(log_a[r])
            for lo in range(0, len(b_idx), PAIR_BLOCK):
                b, s = b_idx[lo : lo + PAIR_BLOCK], s_idx[lo : lo + PAIR_BLOCK]
                pair = self._pair_values(a[s], self.c_[b, s], weights[b] * self.alpha_[s])  # (P, M)
                if per_background:  # one row: each background row's pairs summed
                    for j in range(m):
                        out[:, j] += np.bincount(b, weights=pair[:, j], minlength=nb)
                else:
                    out[r] += pair.sum(axis=0)
        out = out[:, None, :]
        if ctx.task == CLASSIFIER:
            return np.concatenate([-out, out], axis=1)
        return out

    def _pair_values(self, a: np.ndarray, c: np.ndarray, coef: np.ndarray) -> FloatArray:
        """Shapley values of P product games: factors a, c (P, M), coefficients (P,) -> (P, M).

        The leave-one-out product at every node is a prefix product times a suffix product: no
        division, so no 0/0 where factors underflow (the products only lose terms below 1e-300).
        """
        diff = a - c  # (P, M)
        g = self.nodes_[:, None, None] * diff[None]  # (Q, P, M): the factors (1-t) c + t a at every node
        g += c[None]
        m = g.shape[2]
        loo = np.ones_like(g)
        np.cumprod(g[:, :, :-1], axis=2, out=loo[:, :, 1:])  # products of the factors before j
        suffix = np.cumprod(g[:, :, :0:-1], axis=2)[:, :, ::-1]  # products of the factors after j
        loo[:, :, : m - 1] *= suffix
        h = np.tensordot(self.node_weights_, loo, axes=(0, 0))  # (P, M): the integral over t
        return coef[:, None] * diff * h

    def _restore(self, ctx: FitContext) -> None:
        self.c_ = np.exp(self.log_c_)


def _kept_pairs(bound: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(background, support vector) indices of the pairs to compute, given each pair's bound (nb, S).

    |contribution of a pair to any phi_j| <= its bound |alpha_i| w_b prod_k max(a_ik, c_ikb): the pairs
    dropped have bounds summing to under PRUNE_TOL (an absolute error bound, far below the 1e-12 we
    test).  Usually every pair under PRUNE_TOL can go at once (their bounds are far smaller); otherwise
    the smallest go first.
    """
    flat = bound.reshape(-1)
    small = flat < PRUNE_TOL
    if flat[small].sum() >= PRUNE_TOL:
        order = np.argsort(flat)
        small = np.zeros_like(small)
        small[order[: np.searchsorted(np.cumsum(flat[order]), PRUNE_TOL)]] = True
    b_idx, s_idx = np.unravel_index(np.flatnonzero(~small), bound.shape)
    return b_idx, s_idx
