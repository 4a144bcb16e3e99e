"""Surrogate control variates for the ``permutation`` scorer at equal model evaluations (issue 24).

``.venv/bin/python -m benchmarks.surrogate_cv [--only NAME,...] [--seeds N]`` packages the KNN regressor
(and, with ``--only``, the stacking ensemble) of benchmarks/blackbox.py as benchmarks/permutation_orders.py
does (``scorer="permutation"``, every training row its background) and, per seed, refits the scorer with
one antithetic pair per row through hybrid rows (the "ours at equal evaluations" row of
benchmarks/blackbox.py).  Each control variate g adds its Shapley values and subtracts its permutation
estimate on the same orders and hybrids, so the model's evaluations are unchanged and the estimate stays
unbiased for any g:

- ``rbf``: an RBF kernel machine ``g(z) = sum_n alpha_n exp(-gamma ||z - t_n||^2)`` centred on the training
  rows (the KNN's own distance space), fitted by ridge to the model's outputs on 20,000 hybrids of
  training rows, gamma and the ridge by held-out R^2; its values exact against the background by the
  ``kernel_machine`` scorer (a ``KernelRidge`` packaged with that scorer, ``scorers.kinds.kernel_machine``);
- ``soft top-k T``: the KNN with sigmoid weights around the midpoint of the k-th and (k + 1)-th squared
  distances, of width T times the training rows' median gap there (T -> 0 is the KNN itself); it has no
  closed form, so its values come from ``SOFT_PAIRS`` antithetic pairs per row of its own: each costs
  more than a model evaluation (every training row's distance and a sigmoid), so this variant only
  bounds what a KNN-like surrogate buys, not a candidate at equal cost.

Also: shap's KernelExplainer on the ``kernel`` scorer's calibrated background at its coalitions (as in
benchmarks/blackbox.py), seeded by ``np.random.seed(seed)``.  Prints rel. MAE on the 6 unseen rows
against the cached brute-force truth, mean over seeds with its standard error, and each variant's ratio
to shap's mean.
"""

from __future__ import annotations

import argparse
import functools
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import scorers
from scorers.kinds.permutation import PermutationScorer
from scorers.permutations import contributions

from . import blackbox
from .common import load_average, log, section
from .permutation_orders import each_case, mean_and_se, publish

Fn = Callable[[np.ndarray], np.ndarray]
FIT_HYBRIDS, HELD_HYBRIDS = 20_000, 4_000
GAMMAS, RIDGES = (0.25, 0.5, 1.0, 2.0, 4.0), (1e-7, 1e-5, 1e-3)
SOFT_PAIRS, SOFT_WIDTHS = 16, (0.3, 1.0)


def hybrids_of(train: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """n hybrids (a_S, b_notS) of random training rows, S a random prefix of a random order (size 1..M-1)."""
    m = train.shape[1]
    a, b = train[rng.integers(len(train), size=n)], train[rng.integers(len(train), size=n)]
    ranks = np.argsort(rng.random((n, m)), axis=1)
    return np.where(ranks < rng.integers(1, m, size=n)[:, None], a, b)


def rbf_features(z: np.ndarray, centres: np.ndarray, gamma: float) -> np.ndarray:
    return np.exp(-gamma * ((z[:, None, :] - centres[None]) ** 2).sum(-1))


def fit_rbf(f: Fn, train: np.ndarray) -> tuple[Any, float, float]:
    """(a fitted ``KernelRidge`` with the chosen gamma and the ridge's weights as ``dual_coef_``, its
    intercept, its held-out R^2)."""
    from sklearn.kernel_ridge import KernelRidge

    z = hybrids_of(train, FIT_HYBRIDS + HELD_HYBRIDS, np.random.default_rng(0))
    y = f(z)[:, 0]
    best: tuple[float, float, np.ndarray] | None = None
    for gamma in GAMMAS:
        feats = np.hstack([rbf_features(z, train, gamma), np.ones((len(z), 1))])
        fit, held = feats[:FIT_HYBRIDS], feats[FIT_HYBRIDS:]
        gram = fit.T @ fit
        for ridge in RIDGES:
            penalty = ridge * FIT_HYBRIDS * np.eye(len(gram))
            penalty[-1, -1] = 0.0  # the intercept is not shrunk
            coef = np.linalg.solve(gram + penalty, fit.T @ y[:FIT_HYBRIDS])
            r2 = 1 - np.mean((held @ coef - y[FIT_HYBRIDS:]) ** 2) / np.var(y[FIT_HYBRIDS:])
            if best is None or r2 > best[0]:
                best = (float(r2), gamma, coef)
    assert best is not None
    r2, gamma, coef = best
    g = KernelRidge(kernel="rbf", gamma=gamma)
    g.X_fit_, g.dual_coef_ = train, coef[:-1]
    return g, float(coef[-1]), r2


def soft_top_k(model: Any, train: np.ndarray, width: float) -> Fn:
    """The KNN with sigmoid weights around its k-th / (k + 1)-th midpoint (module docstring)."""
    k, targets = int(model.n_neighbors), np.asarray(model._y, dtype=np.float64)
    gaps = np.sort(((train[:, None] - train[None]) ** 2).sum(-1), axis=1)  # column 0: the row itself
    scale = width * float(np.median(gaps[:, k + 1] - gaps[:, k]))

    def g(z: np.ndarray) -> np.ndarray:
        out = []
        for lo in range(0, len(z), 2000):
            d2 = ((z[lo : lo + 2000, None] - train[None]) ** 2).sum(-1)
            part = np.partition(d2, [k - 1, k], axis=1)
            mid = 0.5 * (part[:, k - 1] + part[:, k])
            w = 1.0 / (1.0 + np.exp(np.clip((d2 - mid[:, None]) / scale, -50, 50)))
            out.append((w @ targets) / w.sum(1))
        return np.concatenate(out)[:, None]

    return g


def residual_term(sc: PermutationScorer, g: Fn, x: np.ndarray) -> np.ndarray:
    """g's permutation estimate on the scorer's own orders and hybrids for row x (1, d): (K, M)."""
    bg = sc._check_fitted().game.background
    assert sc.cols_ is not None
    r, p, steps, d = sc.cols_.shape
    chain = g(np.where(sc.cols_, x[0][None, None, None, :], bg[:, None, None, :]).reshape(-1, d))
    per = contributions(sc.ranks_, chain.reshape(r, p, steps, -1), g(bg), g(x)[0])  # (R, P, K, M)
    return np.einsum("b,bkm->km", sc._check_fitted().game.weights, per.mean(axis=1))


def shap_errors(
    name: str, model: Any, train: np.ndarray, x: np.ndarray, truth: np.ndarray, seeds: int
) -> list[float]:
    """shap's KernelExplainer at the kernel scorer's budget and calibrated background, one error per seed."""
    frame = pd.DataFrame(train, columns=[f"f{i}" for i in range(train.shape[1])])
    kernel = scorers.fit(model, frame, eval_size=20, scorer="kernel")
    bg = np.asarray(kernel.background.raw, dtype=np.float64)
    w = np.asarray(kernel.background.weights, dtype=np.float64)
    one = blackbox.shap_kernel(
        blackbox.output_fn(model, kernel.output_space), bg, w, kernel.scorer.n_coalitions
    )
    log(f"{name}: shap KernelExplainer, {len(bg)} rows x nsamples={kernel.scorer.n_coalitions}")
    errors = []
    for seed in range(seeds):
        np.random.seed(seed)
        errors.append(blackbox.rel_mae(np.stack([one(row) for row in x]).reshape(truth.shape), truth))
    return errors


def compare(
    seeds: int, name: str, e: scorers.ScoringExplainer, held: pd.DataFrame, truth: np.ndarray
) -> dict[str, Any]:
    """Every variant and shap's KernelExplainer on one model's unseen rows, ``seeds`` draws each."""
    ctx = e.scorer._check_fitted()
    train, x = np.asarray(ctx.game.background, dtype=np.float64), e.masking.encode(held)
    model = next(m for n, m, _, _ in blackbox.models() if n == name)
    g, _, r2 = fit_rbf(ctx.game.fn, train)
    frame = pd.DataFrame(train, columns=list(held.columns))
    exact = scorers.fit(
        g,
        frame,
        scorer="kernel_machine",
        background_size=len(train),
        summary="sample",
        calibrate=False,
        eval_size=5,
    )
    assert np.array_equal(np.sort(np.asarray(exact.background.raw), 0), np.sort(train, 0))
    phi_rbf = np.asarray(exact.explain(held).values).reshape(truth.shape)
    log(f"{name}: rbf surrogate gamma {g.gamma}, held-out R^2 {r2:.3f}")
    variants: dict[str, tuple[Fn, np.ndarray]] = {"rbf": (lambda z: g.predict(z).reshape(len(z), 1), phi_rbf)}
    head = model.named_estimators_["knn"] if hasattr(model, "named_estimators_") else model
    for width in SOFT_WIDTHS if name == "KNN regressor" else ():
        soft = soft_top_k(head, train, width)
        many = PermutationScorer(pairs=SOFT_PAIRS, seed=999).fit(ctx)
        phi = np.stack([residual_term(many, soft, x[i : i + 1]) for i in range(len(x))])
        variants[f"soft top-k T={width} ({SOFT_PAIRS} pairs of its own)"] = (soft, phi)
    errors: dict[str, list[float]] = {"permutation, 1 pair": [], **{v: [] for v in variants}}
    for seed in range(seeds):
        sc = PermutationScorer(pairs=1, seed=100 + seed).fit(ctx)
        plain = np.stack([sc.shap_values(x[i : i + 1])[0][0] for i in range(len(x))])
        errors["permutation, 1 pair"].append(blackbox.rel_mae(plain, truth))
        for v, (fn, phi) in variants.items():
            est = plain + phi - np.stack([residual_term(sc, fn, x[i : i + 1]) for i in range(len(x))])
            errors[v].append(blackbox.rel_mae(est, truth))
        log(f"{name} seed {seed}: " + ", ".join(f"{v} {errs[-1]:.4f}" for v, errs in errors.items()))
    errors["shap KernelExplainer"] = shap_errors(name, model, train, x, truth, seeds)
    return {
        "model": name,
        "rbf_r2": r2,
        "rbf_gamma": g.gamma,
        "variants": {v: mean_and_se(e) for v, e in errors.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="KNN regressor", help="comma-separated model names")
    parser.add_argument("--seeds", type=int, default=8, help="permutation draws (and shap seeds)")
    args = parser.parse_args(argv)
    section("surrogate control variates of the permutation scorer at equal model evaluations")
    log(f"load average {load_average()}")
    results = each_case([n for n in args.only.split(",") if n], functools.partial(compare, args.seeds))
    log(f"load average {load_average()}")
    rows = []
    for r in results:
        shap = r["variants"]["shap KernelExplainer"]["rel_mae"]
        for v, s in r["variants"].items():
            first = v == "permutation, 1 pair"
            rows.append(
                [
                    r["model"] if first else "",
                    v,
                    f"{s['rel_mae']:.4f} +- {s['se']:.4f}",
                    f"{s['rel_mae'] / shap:.2f}",
                ]
            )
    return publish(
        ["model", "estimator", "rel. MAE (mean over seeds)", "/ shap"], rows, results, "surrogate_cv"
    )


if __name__ == "__main__":
    sys.exit(main())
