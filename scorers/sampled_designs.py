"""Published KernelSHAP-family designs as fixed linear maps (``scorers.shapley.CoalitionDesign``).

Each draws paired coalitions (S and its complement) and turns their values into Shapley values with a
map computed once, like the served ``kernel_design``; they differ in where the draws go and how the
values are combined.  ``p`` below is the probability one draw is the proper coalition S.

- ``paired_kernel_design`` (Covert and Lee 2021): S drawn with probability proportional to its Shapley
  kernel weight, so every draw has equal weight in the constrained least-squares solve;
- ``leverage_design`` (Leverage SHAP, Musco and Witter, ICLR 2025): S drawn by its leverage score in the
  KernelSHAP regression, which is the same for every size (uniform over sizes, uniform within a size),
  each draw weighted by kernel / p in the solve;
- ``msr_design`` (regression-adjusted maximum sample reuse, Witter et al., NeurIPS 2025, with the linear
  function family): the Leverage SHAP solve g, whose Shapley values are its coefficients, plus an
  importance-weighted Monte Carlo estimate of the Shapley values of the residual ``v - g`` from the same
  draws.  Each draw's residual term sums to zero over the players, so the estimate stays efficient.
  With this (linear) family the adjustment vanishes: a draw's term is its kernel-weighted residual times
  ``M z - |S|``, the solve's normal equations make ``Z'W r`` constant over the players, so ``A r`` is
  constant too and sums to zero.  MSR-linear *is* Leverage SHAP (tested); the paper's gains come from a
  tree family (XGBoost + TreeSHAP), which is not a fixed linear map (benchmarks/blackbox.py measures it).

All three are exact on an additive game (its values are linear in S, the solve fits them without
residual) and sum to ``f(x) - base`` whatever the values (the constrained solve).
"""

from __future__ import annotations

import math

import numpy as np

from .shapley import BoolArray, CoalitionDesign, FloatArray, constrained_wls_projection, enumeration_design


def _kernel_weight(m: int, s: int) -> float:
    return (m - 1) / (math.comb(m, s) * s * (m - s))


def _size_probabilities(m: int, by: str) -> FloatArray:
    """P(|S| = s) for s = 1..M-1: 'kernel' (the kernel's mass per size) or 'leverage' (uniform)."""
    sizes = np.arange(1, m)
    if by == "kernel":
        mass = np.array([math.comb(m, s) * _kernel_weight(m, int(s)) for s in sizes])
    else:
        mass = np.ones(len(sizes))
    return mass / mass.sum()


def _paired_draws(m: int, n_coalitions: int, by: str, seed: int) -> tuple[BoolArray, FloatArray, FloatArray]:
    """Distinct drawn coalitions, how many times each was drawn, and p(S) per coalition."""
    rng = np.random.default_rng(seed)
    size_p = _size_probabilities(m, by)
    n_pairs = max(1, n_coalitions // 2)
    sizes = rng.choice(np.arange(1, m), size=n_pairs, p=size_p)
    keys = rng.random((n_pairs, m)).argsort(axis=1)
    first = keys < sizes[:, None]  # a uniform coalition of each drawn size
    drawn = np.concatenate([first, ~first])
    codes = drawn.astype(np.int64) @ (np.int64(1) << np.arange(m, dtype=np.int64))
    _, index, counts = np.unique(codes, return_index=True, return_counts=True)
    masks = drawn[index]
    s = masks.sum(axis=1)
    p = size_p[s - 1] / np.array([math.comb(m, int(k)) for k in s])
    return masks, counts.astype(np.float64), p


def paired_kernel_design(n_players: int, n_coalitions: int, seed: int = 0) -> CoalitionDesign:
    """Paired draws from the Shapley kernel, equal weights per draw."""
    return _solve(n_players, n_coalitions, "kernel", seed)


def leverage_design(n_players: int, n_coalitions: int, seed: int = 0) -> CoalitionDesign:
    """Leverage SHAP: paired draws uniform over sizes, weighted kernel / p."""
    return _solve(n_players, n_coalitions, "leverage", seed)


def _solve(m: int, n_coalitions: int, by: str, seed: int) -> CoalitionDesign:
    if m <= 1 or n_coalitions >= 2**m - 2:
        return enumeration_design(m)
    masks, counts, p = _paired_draws(m, n_coalitions, by, seed)
    k = np.array([_kernel_weight(m, int(s)) for s in masks.sum(axis=1)])
    projection, full_weight = constrained_wls_projection(masks, counts * k / p)
    return CoalitionDesign(masks=masks, projection=projection, full_weight=full_weight, exact=False)


def msr_design(n_players: int, n_coalitions: int, seed: int = 0) -> CoalitionDesign:
    """Regression-adjusted MSR with the linear family: phi = beta + A (y - Z beta), beta the Leverage
    SHAP solve (P y + q delta), A the residual's importance-weighted Shapley estimate per draw."""
    m = n_players
    if m <= 1 or n_coalitions >= 2**m - 2:
        return enumeration_design(m)
    masks, counts, p = _paired_draws(m, n_coalitions, "leverage", seed)
    k = np.array([_kernel_weight(m, int(s)) for s in masks.sum(axis=1)])
    proj, q = constrained_wls_projection(masks, counts * k / p)
    s = masks.sum(axis=1)
    fact = [math.factorial(i) for i in range(m + 1)]
    w = np.array([fact[i] * fact[m - i - 1] / fact[m] for i in range(m)])  # Shapley weight of a size
    # v(S) enters phi_j with +w(|S|-1) when j in S, -w(|S|) when not; each draw weighted 1 / (n p(S))
    sign = np.where(masks, w[s - 1][:, None], -w[np.minimum(s, m - 1)][:, None])
    a = (sign * (counts / (counts.sum() * p))[:, None]).T  # (M, C)
    z = masks.astype(np.float64)
    projection = proj + a @ (np.eye(len(masks)) - z @ proj)
    full_weight = q - a @ (z @ q)
    return CoalitionDesign(masks=masks, projection=projection, full_weight=full_weight, exact=False)
