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
(docs/performance.md).  Where numba is installed at packaging, the scorer serves the same arithmetic one
pair at a time in a fused loop (``scorers.kinds._rbf_pairs_kernel``, ``PAIR_KERNEL``: recorded in the
manifest, compiled at load; the numpy path is its reference, decision 51).
Explained space: ``raw`` (the decision function; not predict_proba, which libsvm calibrates apart).
"""

from __future__ import annotations

import functools
import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import spaces
from ..errors import ArtifactError
from ..masking import GROUPED, IDENTITY, Masking
from ..runtimes.base import CLASSIFIER
from .base import FitContext, FloatArray, Scorer, register

# absolute bound on the error of pruning negligible (background row, support vector) pairs, and again on
# the passive players' truncated polynomial: far below the 1e-9 the values are held to against the oracle
PRUNE_TOL = 1e-11
# pairs computed together: bounds the (players, nodes, pairs) arrays; per-block numpy calls cost more
# than cache misses below a few thousand pairs (measured on the seed's SVC)
PAIR_BLOCK = 1024
# a player is passive in a row when a/c is within this of 1 in every kept pair (_Plan)
PASSIVE = 1e-3
# players whose log factors screen the pairs before their full bounds are computed (_kept)
SCREEN = 3
# the fused numba loop over pairs, recorded as the scorer's ``pair_kernel`` parameter (decision 51)
PAIR_KERNEL = "numba-pairs-rbf"


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
        if self.params.get("pair_kernel") is None:  # packaging: the fused loop if numba is installed
            self.params["pair_kernel"] = _pair_kernel_record()  # a load replays it (and needs numba)
        self._restore(ctx)

    def _log_factors(self, z: np.ndarray) -> np.ndarray:
        """-gamma * squared distance per raw group: (n, d) -> (n, S, M)."""
        sq = (z[:, None, :] - self.support_[None, :, :]) ** 2  # (n, S, d)
        return -float(self.gamma_) * self.ctx_.masking.group_sum(sq)

    def background_row_work(self) -> int:
        """(background row, support vector) pairs: the unit of a row's work, before pruning."""
        return int(self.alpha_.shape[0])

    def background_split(self, x: np.ndarray) -> FloatArray:
        return self._values(x, per_background=True, unweighted=True)

    def shap_values(self, x: np.ndarray) -> tuple[FloatArray, FloatArray]:
        return self._values(x), self._check_fitted().game.outputs(x)

    def _values(self, x: np.ndarray, per_background: bool = False, unweighted: bool = False) -> FloatArray:
        ctx = self._check_fitted()
        weights, log_scale = self._scales(np.ones_like(ctx.game.weights) if unweighted else ctx.game.weights)
        log_a = self._log_factors(np.asarray(x, dtype=np.float64))  # (n, S, M)
        nb, n_sv, m = self.log_c_.shape
        out = np.zeros((nb if per_background else x.shape[0], m))
        by_rows = self._numpy if self.kernel_ is None else self._fused
        by_rows(log_a, (weights, log_scale), per_background, out)
        out = out[:, None, :]
        if ctx.task == CLASSIFIER:
            return np.concatenate([-out, out], axis=1)
        return out

    def _scales(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the background's weights, ``log |w_b alpha_i|`` (nb S,)), kept from the last call with the same
        weights (the request path's: the game's)."""
        cached = getattr(self, "scales_", None)
        if cached is None or not np.array_equal(cached[0], weights):
            weights = np.array(weights, dtype=np.float64)  # a writeable copy (numba types it apart)
            with np.errstate(divide="ignore"):  # a zero weight or alpha: log 0 = -inf, never kept
                log_scale = np.log(np.abs(weights[:, None] * self.alpha_[None, :])).reshape(-1)
            self.scales_ = cached = (weights, log_scale)
        return cached

    def _fused(
        self, log_a: np.ndarray, scales: tuple[np.ndarray, np.ndarray], per_bg: bool, out: FloatArray
    ) -> None:
        """``_numpy``'s values by the fused numba loops (``scorers.kinds._rbf_pairs_kernel``), row by row."""
        kernel, (screen_c, log_c, c, alpha) = self.kernel_, self.pair_major_
        weights, log_scale = scales
        threshold = math.log(PRUNE_TOL / (2 * log_scale.shape[0]))
        for r in range(log_a.shape[0]):
            log_a_r = np.ascontiguousarray(log_a[r])  # (S, M)
            pairs, bound_sum, spread = kernel.kept(
                log_a_r, log_scale, self.screen_, screen_c, log_c, threshold, PRUNE_TOL / 2
            )
            plan = _Plan.of(spread, bound_sum + PRUNE_TOL)
            t, w = _legendre(plan.nodes)
            into = out if per_bg else out[r : r + 1]
            kernel.values(
                pairs, np.exp(log_a_r), c, log_c, weights, alpha, plan.active, plan.passive, plan.degree, t, w,
                per_bg, into,
            )  # fmt: skip

    def _numpy(
        self, log_a: np.ndarray, scales: tuple[np.ndarray, np.ndarray], per_bg: bool, out: FloatArray
    ) -> None:
        """The values of the rows' log factors ``log_a`` (n, S, M) added into ``out`` by numpy passes over
        blocks of pairs: the reference of ``_fused``."""
        weights, log_scale = scales
        nb, n_sv, m = self.log_c_.shape
        for r in range(log_a.shape[0]):
            log_a_r = np.ascontiguousarray(log_a[r].T)  # (M, S): players first, pairs last throughout
            pairs, log_c, log_a_p, bound_sum = self._kept(log_a_r, log_scale)  # (P,), (M, P), (M, P)
            b_idx, s_idx = np.divmod(pairs, n_sv)
            plan = _Plan.of(_Plan.spread(log_a_p - log_c), bound_sum)
            a = np.take(np.exp(log_a_r), s_idx, axis=1)
            coef = weights[b_idx] * self.alpha_[s_idx]
            pair = plan.values(a, np.take(self.c_t_, pairs, axis=1), log_c, coef)  # (M, P)
            if per_bg:  # one row: each background row's pairs summed
                for j in range(m):
                    out[:, j] += np.bincount(b_idx, weights=pair[j], minlength=nb)
            else:
                out[r] = pair.sum(axis=1)

    def _kept(
        self, log_a: np.ndarray, log_scale: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """The pairs to compute for one row: (flat indices ``b S + i`` (P,), their ``log c`` and ``log a``
        (M, P), the sum of their bounds plus PRUNE_TOL), from the row's log factors ``log_a`` (M, S)
        and ``log |w_b alpha_i|`` (nb S,).

        A pair's bound is ``|alpha_i w_b| prod_k max(a_ik, c_ikb)`` (``_kept_pairs``).  Every log factor is
        <= 0, so the same sum over the ``SCREEN`` screening players alone (chosen at fitting: the most
        negative log factors) bounds it from above: pairs whose screened bound is under ``PRUNE_TOL / (2
        nb S)`` go first, under half of PRUNE_TOL in all, without their full bound being computed; the
        rest go by ``_kept_pairs`` within the other half.
        """
        n_pairs = log_scale.shape[0]
        cand = np.flatnonzero(self._screened(log_a, log_scale) >= math.log(PRUNE_TOL / (2 * n_pairs)))
        log_c = np.take(self.log_c_t_, cand, axis=1)
        log_a_p = np.take(log_a, cand % log_a.shape[1], axis=1)
        bound = np.exp(log_scale[cand] + np.maximum(log_a_p, log_c).sum(axis=0))
        kept = _kept_pairs(bound, PRUNE_TOL / 2)
        if len(kept) < len(cand):
            log_c, log_a_p = log_c[:, kept], log_a_p[:, kept]
        return cand[kept], log_c, log_a_p, float(bound[kept].sum()) + PRUNE_TOL

    def _screened(self, log_a: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
        """The log of every pair's bound over the screening players only (nb S,): >= its full log bound."""
        n_sv = log_a.shape[1]
        upper = log_scale.reshape(-1, n_sv).copy()  # (nb, S)
        for k in self.screen_:
            upper += np.maximum(self.log_c_t_[k].reshape(-1, n_sv), log_a[k][None, :])
        return upper.reshape(-1)

    def _restore(self, ctx: FitContext) -> None:
        nb, s, m = self.log_c_.shape
        # players first, pairs (b S + i) last: a row's pairs are gathered as columns
        self.log_c_t_ = np.ascontiguousarray(self.log_c_.reshape(nb * s, m).T)
        self.c_t_ = np.exp(self.log_c_t_)
        # the screening players: the most negative log factors on average (they rule most pairs out)
        self.screen_ = np.sort(np.argsort(self.log_c_t_.mean(axis=1))[: min(SCREEN, m)])
        self.kernel_ = _pair_kernel(self.params.get("pair_kernel"))
        if self.kernel_ is not None:  # pair-major copies (writeable: numba types read-only arrays apart)
            log_c = np.array(self.log_c_.reshape(nb * s, m), dtype=np.float64)
            screen_c = np.ascontiguousarray(
                self.log_c_[:, :, self.screen_].transpose(0, 2, 1)
            )  # (nb, SCREEN, S)
            self.pair_major_ = (screen_c, log_c, np.exp(log_c), np.array(self.alpha_, dtype=np.float64))
            self.background_split(ctx.game.background[:1])  # compiles both loops now, not at a request


def _pair_kernel_record() -> dict[str, Any]:
    """The ``pair_kernel`` parameter recorded at packaging: the fused loop, or why not."""
    try:
        _load_kernel()
    except ImportError as err:  # numba absent where the model is packaged: served by numpy passes
        return {
            "name": None,
            "reason": f"{PAIR_KERNEL} needs numba, which is not installed (importing {err.name} failed)",
        }
    return {"name": PAIR_KERNEL, "reason": ""}


def _pair_kernel(record: Any) -> Any:
    """The numba module a manifest's ``pair_kernel`` names (numba imported only here), or None: the
    numpy path.  An artifact from before the parameter existed has none and gets the numpy path."""
    name = record.get("name") if isinstance(record, dict) else None
    if name is None:
        return None
    if name != PAIR_KERNEL:
        raise ArtifactError(
            f"the manifest names pair kernel '{name}', which this kernel_machine scorer does not offer"
        )
    return _load_kernel()


def _load_kernel() -> Any:
    """``scorers.kinds._rbf_pairs_kernel``: the one place numba is imported for this scorer."""
    return importlib.import_module(f"{__package__}._rbf_pairs_kernel")


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
    def spread(log_ratio: np.ndarray) -> np.ndarray:
        """Each player's largest ``|log a - log c|`` over the kept pairs (M, P) -> (M,), 0 if none."""
        return np.maximum(log_ratio.max(axis=1, initial=0.0), -log_ratio.min(axis=1, initial=0.0))

    @staticmethod
    def of(spread: np.ndarray, bound_sum: float) -> _Plan:
        """From each player's ``spread`` over the kept pairs and the sum of their bounds."""
        m = spread.shape[0]
        full = _Plan(np.arange(m), np.arange(0), 0, max(1, (m + 1) // 2))
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

    def values(self, a: np.ndarray, c: np.ndarray, log_c: np.ndarray, coef: np.ndarray) -> FloatArray:
        """Shapley values of P product games: factors a, c, log c (M, P), coefficients (P,) ->
        (M, P), ``PAIR_BLOCK`` pairs at a time (the block's (players, nodes, pairs) arrays stay in cache).

        The leave-one-out products of the active factors at every node are prefix times suffix products
        (no division, so no 0/0 where factors underflow: the products only lose terms below 1e-300).
        """
        t, w = _legendre(self.nodes)
        out = np.empty_like(a)
        act, pas = self.active, self.passive
        diff_act, c_act = a[act] - c[act], c[act]
        if len(pas):
            c_pas = c[pas]
            delta = a[pas] - c_pas  # exact: a/c within 1 +- PASSIVE (Sterbenz)
            delta /= c_pas  # a/c - 1, to a rounding: (|B|, P)
            c_b = coef * np.exp(log_c[pas].sum(axis=0))  # coef prod_B c_k
            powers = t[:, None] ** np.arange(self.degree + 1)[None, :]  # (Q, D+1)
            moment_of = (powers * w[:, None]).T  # (D+1, Q)
        for lo in range(0, len(coef), PAIR_BLOCK):
            blk = slice(lo, lo + PAIR_BLOCK)
            loo, total = _leave_one_out(t, diff_act[:, blk], c_act[:, blk])
            if not len(pas):
                out[act, blk] = np.tensordot(w, loo, axes=(0, 1))  # (|A|, P): the integral over t
                continue
            d = delta[:, blk]
            e = np.zeros((self.degree + 1, d.shape[1]))  # prod_B (1 + t delta_k): coefficients to degree D
            e[0] = 1.0
            for k, col in enumerate(d):  # times (1 + t delta_k): degree k + 1 at most so far
                for n in range(min(k + 1, self.degree), 0, -1):
                    e[n] += col * e[n - 1]
            node_weight = (powers @ e) * w[:, None]  # (Q, P): w_q times the passive product over prod_B c_k
            node_weight *= c_b[blk]
            loo *= node_weight[None]
            out[act, blk] = loo.sum(axis=1)
            moments = moment_of @ total  # (D+1, P): sum_q w_q t_q^n prod_A g
            # passive j: (a_j - c_j) prod_(B-j) c_k = delta_j prod_B c_k, times sum_n moments_n e_n(delta
            # without j); e_n(without j) = sum_m (-delta_j)^(n-m) e_m, so the sum is a polynomial in
            # -delta_j with coefficients f_r = sum_m moments_(m+r) e_m (Horner)
            deg = self.degree
            f = [np.einsum("np,np->p", moments[r:], e[: deg + 1 - r]) for r in range(deg + 1)]
            acc = np.broadcast_to(f[-1], d.shape).copy()
            for r in range(deg - 1, -1, -1):
                acc *= -d
                acc += f[r]
            acc *= d
            acc *= c_b[blk]
            out[pas, blk] = acc
        out[act] *= diff_act if len(pas) else coef[None, :] * diff_act
        return out


def _leave_one_out(t: np.ndarray, diff: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The factors ``g_k(t_q) = c_k + t_q diff_k`` of (players, pairs) arrays at the nodes ``t``: the
    products of every factor but player j's, (players, nodes, pairs), and of every factor (nodes, pairs).
    """
    g = t[None, :, None] * diff[:, None, :]
    g += c[:, None, :]
    k = len(g)
    loo = np.empty_like(g)
    loo[0] = 1.0
    for j in range(1, k):  # products of the factors before j (a loop of long vector products:
        np.multiply(loo[j - 1], g[j - 1], out=loo[j])  # np.cumprod over axis 0 runs per column)
    total = loo[-1] * g[-1]
    if k > 1:  # times the products of the factors after j
        after = g[-1].copy()
        for j in range(k - 2, 0, -1):
            loo[j] *= after
            after *= g[j]
        loo[0] = after
    return loo, total


def _kept_pairs(bound: np.ndarray, tol: float = PRUNE_TOL) -> np.ndarray:
    """Positions in ``bound`` (any shape, read flat) of the pairs to compute, given each pair's bound.

    |contribution of a pair to any phi_j| <= its bound |alpha_i| w_b prod_k max(a_ik, c_ikb): the pairs
    dropped have bounds summing to under ``tol`` (an absolute error bound, far below the 1e-10 we
    test).  Usually every pair under ``tol`` can go at once (their bounds are far smaller); otherwise
    the smallest go first.
    """
    flat = bound.reshape(-1)
    small = flat < tol
    if flat[small].sum() >= tol:
        order = np.argsort(flat)
        small = np.zeros_like(small)
        small[order[: np.searchsorted(np.cumsum(flat[order]), tol)]] = True
    return np.flatnonzero(~small)
