"""Exact interventional SHAP values of RBF kernel machines, in closed form.

The decision function of an RBF kernel machine is ``f(x) = b0 + sum_i alpha_i prod_k a_ik(x)`` with
``a_ik = exp(-gamma * sum_{c in k} (x_c - sv_ic)^2)`` a product over raw groups ``k``.  Against one
background row ``b`` (``c_ikb`` the same factor at ``b``), the game of one support vector is a product
game, whose Shapley value is

    phi_j = alpha_i (a_ij - c_ijb) * integral_0^1 prod_{k != j} ((1 - t) c_ikb + t a_ik) dt.

The integrand is a polynomial of degree M-1 in t, so Gauss-Legendre with ceil(M/2) nodes is exact;
players whose factors barely differ (``_Plan``: passive) enter as a truncated polynomial of certified
error, which lowers the degree and the number of nodes.  Every factor lies in [0, 1]; the leave-one-out
products at every node are prefix times suffix products (no division), summed over nodes by one
contraction.  An underflow to zero is an absolute error below 1e-300.  The (background row, support
vector) pairs are computed in blocks, and the pairs whose bounds sum to under PRUNE_TOL are skipped
(docs/performance.md).
Explained space: ``raw`` (the decision function; not predict_proba, which libsvm calibrates apart).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import spaces
from ..masking import GROUPED, IDENTITY, Masking
from ..runtimes.base import CLASSIFIER
from .base import FitContext, FloatArray, Scorer, register

# absolute bound on the error of pruning negligible (background row, support vector) pairs
PRUNE_TOL = 1e-14
# pairs computed together: bounds the (players, nodes, pairs) arrays; per-block numpy calls cost more
# than cache misses below a few thousand pairs (measured on the seed's SVC)
PAIR_BLOCK = 8192
# a player is passive in a row when a/c is within this of 1 in every kept pair (_Plan)
PASSIVE = 1e-3


def rbf_parts(head: Any) -> tuple[np.ndarray, np.ndarray, float, float] | None:
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
        if head is None or mode not in (IDENTITY, GROUPED) or rbf_parts(head) is None:
            return []
        return [spaces.RAW]

    @classmethod
    def default_background(cls, n_players: int, head: Any = None, n_columns: int = 0) -> tuple[int, str]:
        return 50, "kmeans"

    def _fit(self, ctx: FitContext) -> None:
        parts = rbf_parts(ctx.head)
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
            bound = scale * np.exp(np.maximum(log_a[r][None], self.log_c_).sum(axis=-1))
            b_idx, s_idx = _kept_pairs(bound)
            log_c = self.log_c_[b_idx, s_idx]  # (P, M)
            log_ratio = log_a[r][s_idx] - log_c
            plan = _Plan.of(log_ratio, float(bound.sum()))
            a = np.exp(log_a[r])
            for lo in range(0, len(b_idx), PAIR_BLOCK):
                blk = slice(lo, lo + PAIR_BLOCK)
                b, s = b_idx[blk], s_idx[blk]
                pair = plan.values(
                    a[s], self.c_[b, s], log_c[blk], log_ratio[blk], weights[b] * self.alpha_[s]
                )
                if per_background:  # one row: each background row's pairs summed
                    for j in range(m):
                        out[:, j] += np.bincount(b, weights=pair[:, j], minlength=nb)
                else:
                    out[r] += pair.sum(axis=0)
        out = out[:, None, :]
        if ctx.task == CLASSIFIER:
            return np.concatenate([-out, out], axis=1)
        return out

    def _restore(self, ctx: FitContext) -> None:
        self.c_ = np.exp(self.log_c_)


@functools.cache
def _legendre(q: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [0, 1]: exact for polynomials of degree <= 2q - 1."""
    nodes, weights = np.polynomial.legendre.leggauss(q)
    return (nodes + 1.0) / 2.0, weights / 2.0


@dataclass(frozen=True)
class _Plan:
    """One row's split of the players: ``active`` ones and ``passive`` ones, whose factors differ by a
    ratio ``a/c = 1 + delta`` with ``|delta| <= PASSIVE`` in every kept pair.

    The passive factors' product ``prod_B c_k (1 + t delta_k)`` is a polynomial in t whose coefficients
    (elementary symmetric polynomials of the deltas) fall like ``sigma^n / n!``, ``sigma = sum_B
    |delta_k|``: kept to degree ``degree`` (D), the rest is below ``sigma^(D+1) e^sigma / (D+1)!`` times
    the pair's bound, and D is the least degree that keeps the sum over pairs under PRUNE_TOL.  The
    integrand is then a polynomial of degree at most ``|A| + D``, integrated exactly by ``nodes``
    Gauss-Legendre nodes: fewer than ``ceil(M/2)`` when many players barely move the kernel (features of
    a small scale against 1/sqrt(gamma)).
    """

    active: np.ndarray  # player indices
    passive: np.ndarray
    degree: int
    nodes: int

    @staticmethod
    def of(log_ratio: np.ndarray, bound_sum: float) -> _Plan:
        """From the kept pairs' ``log a - log c`` (P, M) and the sum of all pairs' bounds."""
        m = log_ratio.shape[1]
        full = _Plan(np.arange(m), np.arange(0), 0, max(1, (m + 1) // 2))
        spread = np.abs(log_ratio).max(axis=0, initial=0.0)  # (M,)
        passive = np.flatnonzero(spread <= np.log1p(PASSIVE))
        active = np.flatnonzero(spread > np.log1p(PASSIVE))
        if not len(passive) or not len(active):
            return full
        sigma = float(np.expm1(spread[passive]).sum())  # >= sum_B |delta_k| in every pair
        degree, tail = 0, sigma * math.exp(sigma)  # tail: sigma^(D+1) e^sigma / (D+1)!
        while degree < len(passive) and tail * bound_sum > PRUNE_TOL:
            degree += 1
            tail *= sigma / (degree + 1)
        nodes = -(-(len(active) + degree + 1) // 2)
        return _Plan(active, passive, degree, nodes) if nodes < full.nodes else full

    def values(
        self, a: np.ndarray, c: np.ndarray, log_c: np.ndarray, log_ratio: np.ndarray, coef: np.ndarray
    ) -> FloatArray:
        """Shapley values of P product games: factors a, c, log c, log a/c (P, M), coefficients (P,) ->
        (P, M).

        The leave-one-out products of the active factors at every node are prefix times suffix products
        (no division, so no 0/0 where factors underflow: the products only lose terms below 1e-300).
        """
        t, w = _legendre(self.nodes)
        diff = a - c  # (P, M)
        act, pas = self.active, self.passive
        # players first, pairs last: the prefix and suffix products run over long contiguous vectors
        g = t[None, :, None] * diff.T[act][:, None, :]  # (|A|, Q, P): the factors (1-t) c + t a
        g += c.T[act][:, None, :]
        k = len(act)
        loo = np.empty_like(g)
        loo[0] = 1.0
        for j in range(1, k):  # products of the factors before j (a loop of long vector products:
            np.multiply(loo[j - 1], g[j - 1], out=loo[j])  # np.cumprod over axis 0 runs per column)
        after = np.ones_like(g[0])
        for j in range(k - 2, -1, -1):  # times the products of the factors after j
            after *= g[j + 1]
            loo[j] *= after
        out = np.empty_like(diff)
        if not len(pas):
            out[:, act] = np.tensordot(w, loo, axes=(0, 1)).T  # (P, |A|): the integral over t
            return coef[:, None] * diff * out
        delta = np.expm1(log_ratio[:, pas])  # (P, |B|)
        e = np.zeros((self.degree + 1, len(coef)))  # prod_B (1 + t delta_k): coefficients to degree D
        e[0] = 1.0
        for col in delta.T:
            e[1:] += col[None, :] * e[:-1]  # the right side is read before the sum is stored
        log_c_b = log_c[:, pas].sum(axis=1)  # log prod_B c_k
        powers = t[:, None] ** np.arange(self.degree + 1)[None, :]  # (Q, D+1)
        passive_at = powers @ e  # (Q, P): the passive product over prod_B c_k, at every node
        out[:, act] = np.einsum("jqp,qp->pj", loo, w[:, None] * passive_at) * np.exp(log_c_b)[:, None]
        total = loo[-1] * g[-1]  # (Q, P): every active factor
        moments = (powers * w[:, None]).T @ total  # (D+1, P): sum_q w_q t_q^n prod_A g
        # prod over B without j of (1 + t delta): the polynomial divided by (1 + t delta_j)
        e_j = np.empty((self.degree + 1, *delta.shape))
        e_j[0] = 1.0
        for n in range(1, self.degree + 1):
            e_j[n] = e[n][:, None] - delta * e_j[n - 1]
        out[:, pas] = np.einsum("np,npj->pj", moments, e_j) * np.exp(log_c_b[:, None] - log_c[:, pas])
        return coef[:, None] * diff * out


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
