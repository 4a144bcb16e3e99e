"""Owen sampling against the ``permutation`` scorer at about equal model evaluations per row (issue 24).

``.venv/bin/python -m benchmarks.owen_sampling [--only NAME,...] [--seeds N]`` packages each model like
``benchmarks/permutation_orders.py`` and estimates the unseen rows' values three ways on the same
uniform background (every training row, or the 11-feature MLP's 352 of 400):

- ``permutation``: the served scorer, one antithetic permutation pair per background row,
  2 (M - 1) evaluations per background row;
- ``owen``: every background row and every feature j: one coalition S of the other features, each in
  it with probability q, q stratified across the rows ((i + U) / rows, shuffled) so that q is uniform
  over [0, 1] (Owen's integral of the multilinear extension), and ``v(S + j) - v(S)``: 2 M evaluations
  per background row, each row's values then shifted to sum to ``f(x) - f(b)``;
- ``owen antithetic``: S and its complement among the other features (the pair is exact on a game of
  pairwise interactions, like an antithetic permutation pair), 4 M evaluations per sample, so each
  feature gets ``round(2 (M - 1) rows / (4 M))`` random background rows; the values then shifted to sum
  to ``f(x) - base``.

Prints each one's evaluations per row and rel. MAE against the brute-force values (mean over seeds +- its
standard error).  Values only: no timing.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

import scorers
from scorers.kinds.permutation import PermutationScorer

from . import blackbox
from .permutation_orders import case_parser, each_case, mean_and_se, publish

Fn = Any  # the game's model function on encoded rows: (n, d) -> (n, K)


def owen(f: Fn, x: np.ndarray, bg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One coalition per (background row, feature), q stratified across rows: (K, M), evaluations."""
    nb, m = bg.shape
    q = (rng.permuted(np.tile(np.arange(nb), (m, 1)), axis=1) + rng.random((m, nb))) / nb  # (M, nb)
    without = rng.random((m, nb, m)) < q[:, :, None]
    without[np.arange(m), :, np.arange(m)] = False  # S never holds j
    with_j = without.copy()
    with_j[np.arange(m), :, np.arange(m)] = True
    v0 = f(np.where(without, x, bg[None]).reshape(-1, m)).reshape(m, nb, -1)
    v1 = f(np.where(with_j, x, bg[None]).reshape(-1, m)).reshape(m, nb, -1)
    per_row = np.transpose(v1 - v0, (1, 2, 0))  # (nb, K, M)
    gap = (f(x[None])[0][None, :] - f(bg))[:, :, None] - per_row.sum(axis=-1, keepdims=True)
    return (per_row + gap / m).mean(axis=0), 2 * m * nb


def owen_antithetic(f: Fn, x: np.ndarray, bg: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """S and its complement among the other features, on a random subset of rows per feature."""
    nb, m = bg.shape
    n = int(round(2 * (m - 1) * nb / (4 * m)))
    fx = f(x[None])[0]
    phi = np.zeros((len(fx), m))
    for j in range(m):
        rows = bg[rng.choice(nb, n, replace=False)]
        q = rng.permutation((np.arange(n) + rng.random(n)) / n)
        first = rng.random((n, m)) < q[:, None]
        first[:, j] = False
        second = ~first
        second[:, j] = False
        for s in (first, second):
            s_j = s.copy()
            s_j[:, j] = True
            phi[:, j] += 0.5 * (f(np.where(s_j, x, rows)) - f(np.where(s, x, rows))).mean(axis=0)
    phi += ((fx - f(bg).mean(axis=0)) - phi.sum(axis=-1))[:, None] / m
    return phi, 4 * m * n


def compare(
    name: str, e: scorers.ScoringExplainer, x: np.ndarray, truth: np.ndarray, seeds: int
) -> dict[str, Any]:
    ctx = e.scorer._check_fitted()
    f, bg = ctx.game.fn, np.asarray(ctx.game.background, dtype=np.float64)
    nb, m = bg.shape
    errors: dict[str, list[float]] = {"permutation": [], "owen": [], "owen antithetic": []}
    evaluations = {"permutation": 2 * (m - 1) * nb}
    for seed in range(seeds):
        rng = np.random.default_rng(500 + seed)
        sc = PermutationScorer(pairs=1, seed=100 + seed).fit(ctx)
        est = np.concatenate([sc.shap_values(x[i : i + 1])[0] for i in range(len(x))])
        errors["permutation"].append(blackbox.rel_mae(est.reshape(truth.shape), truth))
        for label, way in (("owen", owen), ("owen antithetic", owen_antithetic)):
            runs = [way(f, x[i], bg, rng) for i in range(len(x))]
            evaluations[label] = runs[0][1]
            est = np.stack([r[0] for r in runs])
            errors[label].append(blackbox.rel_mae(est.reshape(truth.shape), truth))
    return {
        "model": name,
        "background_rows": nb,
        "seeds": seeds,
        "estimators": {k: {"evaluations": evaluations[k], **mean_and_se(v)} for k, v in errors.items()},
    }


def main(argv: list[str] | None = None) -> int:
    args = case_parser(__doc__, 4, "draws per model and estimator").parse_args(argv)
    results = each_case(
        args.only, lambda name, e, held, truth: compare(name, e, e.masking.encode(held), truth, args.seeds)
    )
    rows = [
        [
            r["model"] if k == "permutation" else "",
            k,
            str(v["evaluations"]),
            f"{v['rel_mae']:.4f} +- {v['se']:.4f}",
        ]
        for r in results
        for k, v in r["estimators"].items()
    ]
    return publish(["model", "estimator", "evaluations per row", "rel. MAE"], rows, results, "owen_sampling")


if __name__ == "__main__":
    sys.exit(main())
