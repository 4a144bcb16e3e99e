"""Coalition maths shared by the enumeration and kernel scorers.

A *game* here is the interventional value function of one explained row ``x`` with respect to a
weighted background ``B``:  ``v(S) = sum_b w_b f(x_S, b_notS)``.  Both scorers turn a fixed set of
coalitions into a linear map from ``v`` to Shapley values that is computed once at fit time, so that
explaining a row is one batched model evaluation plus one matrix product.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class CoalitionDesign:
    """Coalitions to evaluate and the linear map from their values to Shapley values.

    ``masks``: (C, M) bool, never the empty or the full coalition.
    ``projection``: (M, C); ``full_weight``: (M,).  Shapley values of a row are
    ``projection @ (v - base) + full_weight * (f(x) - base)`` where ``v`` are the coalition values.
    ``exact`` says whether the design enumerates every coalition (then the map is the Shapley formula).
    """

    masks: BoolArray
    projection: FloatArray
    full_weight: FloatArray
    exact: bool


def enumeration_design(n_players: int) -> CoalitionDesign:
    """Every proper, non-empty coalition with the exact Shapley weights.

    phi_j = sum_{S not containing j} |S|!(M-|S|-1)!/M! (v(S+j) - v(S)); with v(empty)=base and
    v(full)=f(x) moved out, this is linear in the remaining 2^M-2 values.
    """
    m = n_players
    if m < 1:
        raise ValueError("a game needs at least one player")
    masks = np.array(
        [[(code >> j) & 1 for j in range(m)] for code in range(1, 2**m - 1)], dtype=bool
    ).reshape(-1, m)
    sizes = masks.sum(axis=1)
    weight = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])
    # v(S) enters phi_j with +w(|S|-1) when j in S and with -w(|S|) when j not in S.
    plus = weight[np.clip(sizes - 1, 0, m - 1)][:, None]
    minus = weight[np.clip(sizes, 0, m - 1)][:, None]
    projection = np.where(masks, plus, -minus).T.copy()
    # v(full) enters every phi_j with weight w(M-1) = 1/M; v(empty) with -w(0) = -1/M, which the
    # (v - base) centring already accounts for because the rows of the map sum to zero otherwise.
    full_weight = np.full(m, weight[m - 1])
    return CoalitionDesign(masks=masks, projection=projection, full_weight=full_weight, exact=True)


def _kernel_weight(m: int, s: int) -> float:
    """Shapley kernel weight of one coalition of size s (0 < s < M)."""
    return (m - 1) / (math.comb(m, s) * s * (m - s))


def kernel_design(n_players: int, n_coalitions: int, seed: int = 0) -> CoalitionDesign:
    """A deterministic KernelSHAP design and its constrained weighted-least-squares projection.

    Sizes are visited from the outside in (1 and M-1, then 2 and M-2, ...).  A size pair is enumerated
    when its share of the remaining kernel mass, in coalitions, covers all of its coalitions; the budget
    left after that is spread over the remaining
    sizes in proportion to their share of the kernel mass (stratified), and each size is sampled in
    complementary pairs (S and its complement), which cancels the leading error term.  Each sampled
    coalition carries the kernel mass of its size divided by the number drawn for that size.
    """
    m = n_players
    total = 2**m - 2
    if m <= 1 or n_coalitions >= total:
        return enumeration_design(m)
    rng = np.random.default_rng(seed)
    masks: list[np.ndarray] = []
    weights: list[float] = []
    budget = n_coalitions
    sizes_left = list(range(1, m // 2 + 1))
    mass = {s: math.comb(m, s) * _kernel_weight(m, s) for s in range(1, m)}

    def pair_mass(s: int) -> float:
        return mass[s] + (mass[m - s] if s != m - s else 0.0)

    while sizes_left:
        s = sizes_left[0]
        count = math.comb(m, s) * (1 if s == m - s else 2)
        # enumerate a size pair only when its share of the kernel mass would buy at least as many
        # samples as it has coalitions (shap's rule); otherwise enumeration spends the budget on sizes
        # whose value is already pinned down and starves the middle sizes
        share = budget * pair_mass(s) / sum(pair_mass(t) for t in sizes_left)
        if count > budget or count > share:
            break
        for idx in itertools.combinations(range(m), s):
            mask = np.zeros(m, dtype=bool)
            mask[list(idx)] = True
            masks.append(mask)
            weights.append(_kernel_weight(m, s))
            if s != m - s:
                masks.append(~mask)
                weights.append(_kernel_weight(m, s))
        budget -= count
        sizes_left.pop(0)
    if sizes_left and budget >= 2:
        masses = np.array([pair_mass(s) for s in sizes_left])
        n_pairs = budget // 2
        alloc = np.floor(masses / masses.sum() * n_pairs).astype(int)
        # hand out what rounding left to the sizes with the largest remainders, deterministically
        remainder = masses / masses.sum() * n_pairs - alloc
        for i in np.argsort(-remainder)[: n_pairs - alloc.sum()]:
            alloc[i] += 1
        for s, k, pm in zip(sizes_left, alloc, masses, strict=True):
            if k == 0:
                continue
            seen: dict[bytes, int] = {}
            drawn: list[np.ndarray] = []
            for _ in range(k):
                mask = np.zeros(m, dtype=bool)
                mask[rng.choice(m, size=s, replace=False)] = True
                key = mask.tobytes()
                if key in seen:
                    seen[key] += 1
                else:
                    seen[key] = 1
                    drawn.append(mask)
            for mask in drawn:
                # each draw stands for pm/k of the pair's mass, split between S and its complement
                w = seen[mask.tobytes()] * pm / k / 2.0
                masks.append(mask)
                weights.append(w)
                masks.append(~mask)
                weights.append(w)
    z = np.array(masks, dtype=bool).reshape(-1, m)
    kw = np.array(weights, dtype=np.float64)
    projection, full_weight = constrained_wls_projection(z, kw)
    return CoalitionDesign(masks=z, projection=projection, full_weight=full_weight, exact=False)


def constrained_wls_projection(masks: BoolArray, weights: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Linear map of the KernelSHAP solve.

    minimise sum_i k_i (y_i - z_i . phi)^2  subject to  1 . phi = delta,  with y = v - base and
    delta = f(x) - base.  With A = Z'KZ and u = A^-1 1 / (1' A^-1 1) the solution is
    phi = (I - u 1') A^-1 Z'K y + u delta, so P = (I - u 1') A^-1 Z'K and q = u.  1'P = 0 and 1'q = 1,
    hence sum(phi) = delta holds to rounding whatever y is.
    """
    z = masks.astype(np.float64)
    a = z.T @ (z * weights[:, None])
    a_inv = np.linalg.pinv(a)
    ones = np.ones(z.shape[1])
    u = a_inv @ ones
    u = u / (ones @ u)
    base_map = a_inv @ (z * weights[:, None]).T
    projection = base_map - np.outer(u, ones @ base_map)
    return projection, u
