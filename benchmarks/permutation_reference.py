"""An independent probability-space reference for a binary RBF ``SVC(probability=True)``: antithetic
permutation sampling against every background row, with its own standard error.

The interventional Shapley value of a row x against background rows b_1..b_N (weights w_b) is
``phi_j = sum_b w_b E_pi[f(x_{P_j(pi) + j}, b_rest) - f(x_{P_j(pi)}, b_rest)]``, P_j(pi) the features
before j in a uniformly random order pi.  One draw walks, for every background row, from b to x along
its own random order, switching one feature at a time: M + 1 hybrids whose successive differences are
one marginal contribution per feature, summing to f(x) - f(b) exactly (telescoping).  Its antithetic
twin walks the reversed order.  A *round* is one such pair of walks per background row, averaged with
the weights: an unbiased estimate of phi, independent of every other round, so the estimate is the mean
of R rounds and its standard error per feature is their standard deviation / sqrt(R).  Nothing of the
served scorers (calibrated backgrounds, designs, control variates, the margin's exact values) is used.

The walks are vectorised through the RBF kernel's product form: along a walk the log-kernel of each
(background row, support vector) pair is a cumulative sum of per-feature differences
``-gamma (x_k - sv_k)^2 + gamma (b_k - sv_k)^2`` in the walk's order, so a round costs one gather, one
cumulative sum and one ``exp`` of (N, M + 1, S) values, and the decision values are one product with the
dual coefficients.  The model's own probability steps follow (Platt's sigmoid, libsvm's pairwise
coupling: ``RbfSvcProba.proba_from_decision``); :func:`check_paths` rebuilds hybrids of sampled walks
explicitly and compares them with ``model.predict_proba``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from scorers.runtimes.fastpaths import RbfSvcProba

# A (background row, support vector) pair is skipped when its term of the decision value is under
# PAIR_TOL / S at every hybrid (its largest log-kernel: each feature from the nearer end), so the skipped
# terms move any hybrid's decision value by under PAIR_TOL.
PAIR_TOL = 1e-12


@dataclass(frozen=True)
class PermutationEstimate:
    """One row's estimate, class ``cls`` of ``predict_proba``: ``phi`` (M,), ``se`` (M,) and the rounds."""

    phi: np.ndarray
    se: np.ndarray
    rounds: int


@dataclass(frozen=True)
class RowSteps:
    """One row's kept pairs (P): background row of each (sorted), log-kernel change per feature switched
    (P, M), log-kernel at the background row (P,), and the (N, P) sum of alpha-weighted pair terms."""

    b_idx: np.ndarray
    delta: np.ndarray
    log0: np.ndarray
    mix: Any


class SvcPaths:
    """Walks from background rows to one row through the hybrids of a binary RBF SVC's probability."""

    def __init__(self, model: Any, background: np.ndarray, weights: np.ndarray | None = None, cls: int = 1):
        if not RbfSvcProba.applies(model):
            raise ValueError("the permutation reference covers binary RBF SVC(probability=True) models only")
        self.model = model
        self.proba = RbfSvcProba(model)
        self.sv = np.asarray(model.support_vectors_, dtype=np.float64)  # (S, M)
        self.background = np.asarray(background, dtype=np.float64)  # (N, M)
        n = len(self.background)
        self.weights = np.full(n, 1.0 / n) if weights is None else np.asarray(weights, dtype=np.float64)
        self.cls = cls
        # -gamma (b_k - sv_k)^2 per (background row, feature, support vector): (N, M, S)
        diff = self.background[:, :, None] - self.sv.T[None, :, :]
        self.log_b = -self.proba.gamma * diff * diff
        self.log_b0 = self.log_b.sum(axis=1)  # log K(b, sv): (N, S)

    def steps(self, row: np.ndarray) -> RowSteps:
        """The kept pairs of ``row`` and their log-kernel change per feature switched from b to ``row``."""
        x = np.asarray(row, dtype=np.float64)
        log_x = -self.proba.gamma * (x[:, None] - self.sv.T) ** 2  # (M, S)
        # the largest log-kernel of a pair over every hybrid: each feature from whichever end is nearer
        bound = np.maximum(log_x[None, :, :], self.log_b).sum(axis=1) + np.log(np.abs(self.proba.alpha))
        b_idx, s_idx = np.nonzero(bound > np.log(PAIR_TOL / len(self.sv)))  # row-major: sorted by b
        n, m = self.background.shape
        mix = sparse.csr_matrix(
            (self.proba.alpha[s_idx], (b_idx, np.arange(len(b_idx)))), shape=(n, len(b_idx))
        )
        delta = log_x.T[s_idx] - self.log_b[b_idx, :, s_idx]  # (P, M)
        return RowSteps(b_idx, delta, self.log_b0[b_idx, s_idx], mix)

    def walk_values(self, steps: RowSteps, orders: np.ndarray) -> np.ndarray:
        """f along each background row's walk in ``orders`` (N, M), ``steps`` from :meth:`steps`:
        (N, M + 1), f(b) first."""
        n, m = orders.shape
        flat = orders[steps.b_idx] + m * np.arange(len(steps.b_idx))[:, None]
        logk = np.empty((len(steps.b_idx), m + 1))
        logk[:, 0] = 0.0
        np.cumsum(np.take(steps.delta, flat), axis=1, out=logk[:, 1:])
        logk += steps.log0[:, None]
        np.minimum(logk, 0.0, out=logk)  # a log-kernel is <= 0 (rounding)
        np.exp(logk, out=logk)
        decision = np.asarray(steps.mix @ logk) + self.proba.intercept  # (N, M + 1)
        return self.proba.proba_from_decision(decision.ravel())[:, self.cls].reshape(n, m + 1)

    def contributions(self, steps: RowSteps, orders: np.ndarray) -> np.ndarray:
        """Each walk's marginal contribution per feature (N, M); row b sums to f(row) - f(b_b)."""
        values = self.walk_values(steps, orders)
        out = np.empty(orders.shape)
        np.put_along_axis(out, orders, np.diff(values, axis=1), axis=1)
        return out

    def hybrids(self, row: np.ndarray, orders: np.ndarray, b: int) -> np.ndarray:
        """The M + 1 hybrid rows of background row b's walk, built explicitly (for checks)."""
        z = np.repeat(self.background[b][None, :], orders.shape[1] + 1, axis=0)
        for t, k in enumerate(orders[b], start=1):
            z[t:, k] = row[k]
        return z


def random_orders(rng: np.random.Generator, n: int, m: int) -> np.ndarray:
    """n independent uniformly random orders of m features: (n, m)."""
    return np.argsort(rng.random((n, m)), axis=1)


def estimate(paths: SvcPaths, row: np.ndarray, rounds: int, seed: int) -> PermutationEstimate:
    """``rounds`` antithetic rounds: the mean and its standard error per feature."""
    if rounds < 2:
        raise ValueError("a standard error needs at least 2 rounds")
    rng = np.random.default_rng(seed)
    n, m = paths.background.shape
    per_round = np.empty((rounds, m))
    steps = paths.steps(row)
    for r in range(rounds):
        orders = random_orders(rng, n, m)
        both = paths.contributions(steps, orders) + paths.contributions(steps, orders[:, ::-1])
        per_round[r] = 0.5 * (paths.weights @ both)
    return PermutationEstimate(
        phi=per_round.mean(axis=0), se=per_round.std(axis=0, ddof=1) / np.sqrt(rounds), rounds=rounds
    )


def check_paths(paths: SvcPaths, row: np.ndarray, seed: int = 0, walks: int = 8) -> float:
    """Largest |difference| between the walks' values and ``model.predict_proba`` on the same hybrids."""
    rng = np.random.default_rng(seed)
    n, m = paths.background.shape
    orders = random_orders(rng, n, m)
    values = paths.walk_values(paths.steps(row), orders)
    worst = 0.0
    for b in rng.choice(n, size=min(walks, n), replace=False):
        truth = paths.model.predict_proba(paths.hybrids(row, orders, int(b)))[:, paths.cls]
        worst = max(worst, float(np.max(np.abs(values[b] - truth))))
    return worst
