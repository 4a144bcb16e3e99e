"""What limits the KNN at equal evaluations: its exact games, one per background row (issue 24).

``.venv/bin/python -m benchmarks.knn_limits [--draws N]`` evaluates benchmarks/blackbox.py's KNN regressor
(12 features, 300 training rows) on every coalition of every background row for each of the 6 unseen rows:
``g_b(S) = f(x_S, b_notS)``, 4,096 x 300 hybrids per row (about 30 s, cached in
benchmarks/out/knn_games.npz).  The full-data truth is the Shapley value of their mean ``v = mean_b g_b``
(checked against benchmarks/blackbox.py's cached truth when that exists).  With every game known, each
estimator below is drawn ``--draws`` times by table lookup, no model call, so the comparison has no
noise but the estimators' own:

- ``antithetic``: the served ``permutation`` scorer at the goal's budget, one antithetic pair of orders
  per background row (300 x 2 x 11 = 6,600 evaluations; the kernel's budget is 7,680);
- ``independent``: two independent orders per row instead (the same evaluations);
- ``half-shift``: the second order is the first rotated by M / 2 (each feature at positions k and
  k + 6, instead of k and 11 - k);
- ``oracle coalition surrogate``: a control variate equal to the mean game ``v`` itself, its Shapley
  values exact, the residual ``g_b - v`` sampled on the same orders: the bound for any surrogate or
  regression adjustment over coalitions (MSR, tree or linear), which can at best learn ``v``;
- ``the mean game alone``: every background row's game replaced by ``v``, sampled the same way: the part
  of the error such a surrogate could remove;
- ``antithetic, p pairs``: p pairs per row (p x 6,600 evaluations), to read the evaluations the goal's
  error needs.

The goal's line is 0.5x shap's KernelExplainer at equal evaluations: ``--shap`` (default 0.0805, its mean
over 8 seeds in ``benchmarks.blackbox --seeds 8 "KNN regressor"``, benchmarks/README.md).  Prints rel.
MAE over the 6 rows (benchmarks/blackbox.py's measure), mean over draws with its standard error.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from math import factorial

import numpy as np

from .blackbox import N_TRAIN, models, rel_mae
from .common import OUT, log, say, section, table

Orders = Callable[[np.random.Generator, int, int], list[np.ndarray]]


def games() -> np.ndarray:
    """(rows, background rows, 2^M): the KNN on every hybrid of each unseen row."""
    path = OUT / "knn_games.npz"
    if path.exists():
        return np.load(path)["games"]
    name, model, x, _ = next(m for m in models() if m[0] == "KNN regressor")
    train, held = x[:N_TRAIN], x[N_TRAIN:]
    m = x.shape[1]
    codes = np.arange(2**m)
    masks = ((codes[:, None] >> np.arange(m)) & 1).astype(bool)
    out = np.empty((len(held), N_TRAIN, 2**m))
    for r, row in enumerate(held):
        log(f"{name}: row {r + 1} of {len(held)}, {2**m} coalitions x {N_TRAIN} rows")
        for lo in range(0, 2**m, 512):
            mk = masks[lo : lo + 512]
            hyb = np.where(mk[:, None, :], row[None, None, :], train[None, :, :]).reshape(-1, m)
            out[r, :, lo : lo + 512] = model.predict(hyb).reshape(len(mk), N_TRAIN).T
    OUT.mkdir(exist_ok=True)
    np.savez(path, games=out)
    return out


def shapley(g: np.ndarray) -> np.ndarray:
    """Exact Shapley values of games given on every coalition code: (..., 2^M) -> (..., M)."""
    m = int(np.log2(g.shape[-1]))
    codes = np.arange(2**m)
    size = np.array([bin(c).count("1") for c in codes])
    weight = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)])
    out = np.empty(g.shape[:-1] + (m,))
    for j in range(m):
        without = codes[(codes >> j) & 1 == 0]
        out[..., j] = (g[..., without | (1 << j)] - g[..., without]) @ weight[size[without]]
    return out


def chains(g: np.ndarray, orders: list[np.ndarray]) -> np.ndarray:
    """Each row's permutation estimate, the mean over its orders: g (B, 2^M), orders [(B, M)] -> (B, M)."""
    b, m = orders[0].shape
    rows = np.arange(b)
    est = np.zeros((b, m))
    for order in orders:
        code = np.zeros(b, dtype=np.int64)
        prev = g[rows, code]
        for k in range(m):
            code = code | (1 << order[:, k])
            now = g[rows, code]
            est[rows, order[:, k]] += (now - prev) / len(orders)
            prev = now
    return est


def _random(rng: np.random.Generator, b: int, m: int) -> np.ndarray:
    return np.argsort(rng.random((b, m)), axis=1)


def antithetic(pairs: int) -> Orders:
    def draw(rng: np.random.Generator, b: int, m: int) -> list[np.ndarray]:
        firsts = [_random(rng, b, m) for _ in range(pairs)]
        return [o for first in firsts for o in (first, first[:, ::-1])]

    return draw


def independent(rng: np.random.Generator, b: int, m: int) -> list[np.ndarray]:
    return [_random(rng, b, m), _random(rng, b, m)]


def half_shift(rng: np.random.Generator, b: int, m: int) -> list[np.ndarray]:
    first = _random(rng, b, m)
    return [first, np.roll(first, m // 2, axis=1)]


def draws(
    g: np.ndarray,
    truth: np.ndarray,
    orders: Orders,
    n: int,
    seed: int,
    oracle_cv: bool = False,
    mean_only: bool = False,
) -> list[float]:
    """rel. MAE of ``n`` independent draws of an estimator over every row's games (``mean_only``: every
    background row's game replaced by the mean game, the part a coalition surrogate could remove)."""
    rng = np.random.default_rng(seed)
    rows, b, c = g.shape
    m = int(np.log2(c))
    mean_games = g.mean(axis=1)
    out = []
    for _ in range(n):
        est = np.empty_like(truth)
        for r in range(rows):
            if mean_only:
                est[r] = chains(np.broadcast_to(mean_games[r], (b, c)), orders(rng, b, m)).mean(axis=0)
            elif oracle_cv:  # v's values exact; the residual games sampled on the same orders
                est[r] = truth[r] + chains(g[r] - mean_games[r], orders(rng, b, m)).mean(axis=0)
            else:
                est[r] = chains(g[r], orders(rng, b, m)).mean(axis=0)
        out.append(rel_mae(est, truth))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.knn_limits", description=__doc__.split("\n\n")[0])
    parser.add_argument("--draws", type=int, default=30, help="draws of each estimator (default 30)")
    parser.add_argument("--shap", type=float, default=0.0805, help="shap KernelExplainer's rel. MAE")
    args = parser.parse_args(argv)
    if args.draws < 2:
        parser.error(f"--draws must be >= 2, got {args.draws}")
    section("the KNN's games at equal evaluations: exact per background row, estimators drawn by lookup")
    g = games()
    truth = shapley(g.mean(axis=1))
    cached = OUT / "blackbox_truth.npz"
    if cached.exists() and "KNN regressor" in np.load(cached).files:
        other = np.load(cached)["KNN regressor"].reshape(truth.shape)
        log(
            f"truth against benchmarks.blackbox's cached truth: max |diff| {np.max(np.abs(truth - other)):.1e}"
        )
    m, b = truth.shape[1], g.shape[1]
    budget = b * 2 * (m - 1)
    variants: list[tuple[str, Orders, int, str]] = [
        ("antithetic, 1 pair (served at the goal's budget)", antithetic(1), budget, ""),
        ("independent, 2 orders", independent, budget, ""),
        ("half-shift, 2 orders", half_shift, budget, ""),
        ("oracle coalition surrogate + antithetic residual", antithetic(1), budget, "cv"),
        ("(the mean game alone, antithetic, 1 pair)", antithetic(1), budget, "mean"),
        ("antithetic, 2 pairs", antithetic(2), 2 * budget, ""),
        ("antithetic, 3 pairs", antithetic(3), 3 * budget, ""),
        ("antithetic, 4 pairs", antithetic(4), 4 * budget, ""),
    ]
    goal = 0.5 * args.shap
    rows = []
    for i, (label, orders, evals, game) in enumerate(variants):
        errs = draws(g, truth, orders, args.draws, seed=i, oracle_cv=game == "cv", mean_only=game == "mean")
        mean, se = float(np.mean(errs)), float(np.std(errs, ddof=1) / np.sqrt(len(errs)))
        log(f"{label}: {mean:.4f} +- {se:.4f}")
        rows.append([label, str(evals), f"{mean:.4f} +- {se:.4f}", f"{mean / args.shap:.3f}"])
    say()
    say(f"goal: <= {goal:.4f} (0.5x shap KernelExplainer's {args.shap:.4f}) at {budget} evaluations per row")
    say(table(["estimator", "evaluations per row", "rel. MAE (mean +- s.e.)", "/ shap"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
