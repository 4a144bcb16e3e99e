"""Black-box estimators side by side at equal model evaluations per row (issue 24).

``.venv/bin/python -m benchmarks.blackbox`` fits four 14-feature black boxes (an MLP classifier, an MLP
regressor, a KNN regressor, a stacking ensemble) on 300 rows and explains 6 rows they never saw.  The
truth is the exact interventional Shapley value against all 300 training rows (2^14 coalitions x 300
rows, a vectorised enumeration: no sampling error).  Every estimator gets the served explainer's budget
of model evaluations per row (background rows x coalitions) and its calibrated background:

- ``ours``: ``scorers.fit`` with the CLI's defaults: ``kernel`` or ``permutation``, chosen at
  packaging by measured error (``scorers.fidelity.estimator``);
- ``kernel``: the ``kernel`` scorer as served before issue 24 (20 calibrated rows x its paired,
  stratified design); its background and budget are everyone else's;
- ``permutation``: antithetic permutations per row of a wide uniform background, the same budget;
- ``paired kernel``, ``Leverage SHAP``, ``MSR-linear`` (``scorers.sampled_designs``) and ``MSR-tree``
  (regression-adjusted MSR with an XGBoost family, its Shapley values by interventional TreeSHAP) on the
  kernel's game and budget;
- ``shap Kernel``: shap's KernelExplainer on the same weighted background, ``nsamples`` = coalitions;
- ``shapiq ...``: shapiq's approximators on the same game, ``budget`` = coalitions + 2 (the installed
  shapiq has no Leverage SHAP or RegressionMSR).

Prints rel. MAE (mean |phi - truth| / mean |truth| over rows, outputs, features) and ms per row.
The truth is cached in benchmarks/out/blackbox_truth.npz (delete it to recompute).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pandas as pd

import scorers

from .common import OUT, log, say, section, table

M, N_TRAIN, N_HELD_OUT, SEED = 14, 300, 6, 0
Fn = Callable[[np.ndarray], np.ndarray]


def _data(kind: str, m: int = M) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_classification, make_friedman1

    n = N_TRAIN + N_HELD_OUT
    if kind == "classification":
        return make_classification(
            n_samples=n, n_features=m, n_informative=6, n_redundant=1, n_clusters_per_class=1, random_state=0
        )
    return make_friedman1(n_samples=n, n_features=m, random_state=0)


def models() -> Iterator[tuple[str, Any, np.ndarray, dict[str, Any]]]:
    """(name, fitted model, all rows, packaging keywords).  The KNN and the ensemble (a KNN inside) have
    12 features: their exact 14-feature truth costs minutes per row; at 12 the automatic choice would be
    the ``exact`` scorer, so they are packaged with ``max_exact_features=11``: ``auto`` then takes the
    black-box default (``kernel`` or ``permutation``, chosen by measured error)."""
    from sklearn.ensemble import RandomForestRegressor, StackingRegressor
    from sklearn.linear_model import Ridge
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    def fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(x[:N_TRAIN], y[:N_TRAIN])

    xc, yc = _data("classification")
    yield (
        "MLP classifier",
        fit(MLPClassifier(hidden_layer_sizes=(32,), max_iter=2000, random_state=0), xc, yc),
        xc,
        {},
    )
    xr, yr = _data("regression")
    yield (
        "MLP regressor",
        fit(MLPRegressor(hidden_layer_sizes=(32,), max_iter=2000, random_state=0), xr, yr),
        xr,
        {},
    )
    x12, y12 = _data("regression", 12)
    kernel = {"max_exact_features": 11}  # auto, past the exact scorer: the black-box default
    yield "KNN regressor", fit(KNeighborsRegressor(10, algorithm="brute"), x12, y12), x12, kernel
    stack = StackingRegressor(
        [
            ("rf", RandomForestRegressor(30, max_depth=6, random_state=0)),
            ("knn", KNeighborsRegressor(10, algorithm="brute")),
        ],
        final_estimator=Ridge(),
    )
    yield "stacking ensemble", fit(stack, x12, y12), x12, kernel


def output_fn(model: Any, space: str) -> Fn:
    """(n, M) -> (n, K) in the served output space."""
    from sklearn.base import is_classifier

    if is_classifier(model):
        assert space == "probability", space
        return lambda a: np.asarray(model.predict_proba(a), dtype=np.float64)
    return lambda a: np.asarray(model.predict(a), dtype=np.float64).reshape(len(a), 1)


def hybrid_values(f: Fn, x: np.ndarray, masks: np.ndarray, bg: np.ndarray, w: np.ndarray) -> np.ndarray:
    """v(S) = sum_b w_b f(x_S, b_notS) for each row of ``masks``: (C, K), in chunks of ~1M hybrids."""
    out = []
    step = max(1, 1_000_000 // len(bg))
    for lo in range(0, len(masks), step):
        mk = masks[lo : lo + step]
        hyb = np.where(mk[:, None, :], x[None, None, :], bg[None, :, :]).reshape(-1, bg.shape[1])
        y = f(hyb)
        out.append(np.einsum("cbk,b->ck", y.reshape(len(mk), len(bg), -1), w))
    return np.concatenate(out)


def exact_truth(f: Fn, x: np.ndarray, bg: np.ndarray) -> np.ndarray:
    """Enumeration over all 2^M coalitions and every background row, equal weights: (K, M).

    phi_j = sum over codes c without bit j of |c|!(M-|c|-1)!/M! (v(c | j) - v(c)); independent of the
    served code's projection maps.
    """
    from math import factorial

    m = bg.shape[1]
    codes = np.arange(2**m)
    masks = ((codes[:, None] >> np.arange(m)[None, :]) & 1).astype(bool)
    v = hybrid_values(f, x, masks, bg, np.full(len(bg), 1.0 / len(bg)))  # (2^M, K)
    size = masks.sum(axis=1)
    weight = np.array([factorial(s) * factorial(m - s - 1) / factorial(m) for s in range(m)])
    phi = np.zeros((v.shape[1], m))
    for j in range(m):
        without = codes[~masks[:, j]]
        phi[:, j] = weight[size[without]] @ (v[without | (1 << j)] - v[without])
    return phi


def rel_mae(est: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean(np.abs(est - truth)) / np.mean(np.abs(truth)))


def _timed(fn: Callable[[int], np.ndarray], n: int) -> tuple[np.ndarray, float]:
    fn(0)  # warm-up: the first call pays imports and caches
    t0 = time.perf_counter()
    out = np.stack([fn(i) for i in range(n)])
    return out, 1000 * (time.perf_counter() - t0) / n


def shap_kernel(
    f: Fn, bg: np.ndarray, w: np.ndarray, nsamples: int, seed: int = SEED
) -> Callable[[np.ndarray], np.ndarray]:
    """shap's KernelExplainer, its coalition draws seeded (it samples with numpy's global generator):
    the same seed gives the same values, and each seed of ``--seeds`` an independent draw."""
    import shap
    from shap.utils._legacy import DenseData

    data = DenseData(bg, [f"f{i}" for i in range(bg.shape[1])], None, w / w.sum())
    explainer = shap.KernelExplainer(f, data, silent=True)
    calls = iter(range(1 << 30))

    def one(x: np.ndarray) -> np.ndarray:
        np.random.seed(seed * 100_003 + next(calls))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            vals = explainer.shap_values(x[None], nsamples=nsamples, silent=True)
        return np.asarray(vals).reshape(bg.shape[1], -1).T  # (K, M)

    return one


def shapiq_estimator(
    name: str, f: Fn, bg: np.ndarray, w: np.ndarray, budget: int, k: int
) -> Callable[[np.ndarray], np.ndarray]:
    import shapiq

    def one(x: np.ndarray) -> np.ndarray:
        phi = np.zeros((k, bg.shape[1]))
        for out in range(k):

            def game(coalitions: np.ndarray, out: int = out) -> np.ndarray:
                masks = np.asarray(coalitions, dtype=bool).reshape(-1, bg.shape[1])
                return hybrid_values(f, x, masks, bg, w / w.sum())[:, out]

            approx = getattr(shapiq, name)(n=bg.shape[1], random_state=SEED)
            values = approx.approximate(budget, game)
            phi[out] = [values[(j,)] for j in range(bg.shape[1])]
        return phi

    return one


SHAPIQ = ("KernelSHAP", "PermutationSamplingSV", "StratifiedSamplingSV")  # the best three of five before


def design_estimator(design: Any, f: Fn, bg: np.ndarray, w: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """A linear design (scorers.shapley.CoalitionDesign) on the weighted background: (K, M) per row."""
    base = w @ f(bg) / w.sum()

    def one(x: np.ndarray) -> np.ndarray:
        v = hybrid_values(f, x, design.masks, bg, w / w.sum())
        fx = f(x[None])[0]
        return (design.projection @ (v - base) + np.outer(design.full_weight, fx - base)).T

    return one


def msr_tree(f: Fn, bg: np.ndarray, w: np.ndarray, budget: int) -> Callable[[np.ndarray], np.ndarray]:
    """Regression-adjusted MSR with a tree family: XGBoost fitted to the drawn coalition values (the
    empty and full coalitions included), its exact Shapley values (interventional TreeSHAP at the all-ones
    indicator against the all-zeros one), plus the leverage-weighted MSR estimate of the residual game;
    the residual's two ends enter exactly."""
    import shap
    from xgboost import XGBRegressor

    from scorers.sampled_designs import _paired_draws

    m = bg.shape[1]
    masks, counts, p = _paired_draws(m, budget, "leverage", SEED)
    s = masks.sum(axis=1)
    fact = [float(np.prod(np.arange(1, i + 1))) for i in range(m + 1)]
    wt = np.array([fact[i] * fact[m - i - 1] / fact[m] for i in range(m)])
    a = (
        np.where(masks, wt[s - 1][:, None], -wt[np.minimum(s, m - 1)][:, None])
        * (counts / (counts.sum() * p))[:, None]
    ).T
    z = np.vstack([masks, np.zeros(m, bool), np.ones(m, bool)]).astype(np.float64)
    base = w @ f(bg) / w.sum()

    def one(x: np.ndarray) -> np.ndarray:
        v = hybrid_values(f, x, masks, bg, w / w.sum()) - base
        fx = f(x[None])[0] - base
        out = []
        for k in range(v.shape[1]):
            y = np.concatenate([v[:, k], [0.0, fx[k]]])
            reps = np.concatenate([counts, [1.0, 1.0]])
            g = XGBRegressor(n_estimators=60, max_depth=3, learning_rate=0.3, random_state=SEED)
            g.fit(z, y, sample_weight=reps)
            phi_g = shap.TreeExplainer(
                g, np.zeros((1, m)), feature_perturbation="interventional"
            ).shap_values(np.ones((1, m)))[0]
            r = y - g.predict(z)
            out.append(phi_g + a @ r[:-2] + (r[-1] - r[-2]) / m)
        return np.array(out)

    return one


def _truth(name: str, f: Fn, train: np.ndarray, held: np.ndarray) -> np.ndarray:
    path = OUT / "blackbox_truth.npz"
    cache = dict(np.load(path)) if path.exists() else {}
    if name not in cache:
        log(f"{name}: exact truth over 2^{train.shape[1]} coalitions x {N_TRAIN} rows")
        cache[name] = np.stack([exact_truth(f, x, train) for x in held])
        OUT.mkdir(exist_ok=True)
        np.savez(path, **cache)
    return cache[name]


def compare(
    name: str, model: Any, x: np.ndarray, kw: dict[str, Any], rows: list[list[Any]], seeds: int = 1
) -> dict[str, Any]:
    """Every estimator on one model's unseen rows: {label: {rel_mae, ms_per_row}} and table rows.

    The two sampled estimators the goal compares (ours at equal evaluations, shap's KernelExplainer) run
    with ``seeds`` independent seeds: their rel. MAE is the mean over seeds, with its standard error."""
    train, held = x[:N_TRAIN], x[N_TRAIN:]
    frame = pd.DataFrame(train, columns=[f"f{i}" for i in range(x.shape[1])])
    held_frame = pd.DataFrame(held, columns=frame.columns)
    log(f"{name}: packaging with the defaults")
    served = scorers.fit(model, frame, eval_size=20, **kw)
    kind = served.manifest.scorer.kind
    # the kernel scorer as it was served before: everyone else's background and budget
    kernel = served if kind == "kernel" else scorers.fit(model, frame, eval_size=20, scorer="kernel")
    f = output_fn(model, served.output_space)
    truth = _truth(name, f, train, held)
    bg = np.asarray(kernel.background.raw, dtype=np.float64)
    w = np.asarray(kernel.background.weights, dtype=np.float64)
    c = kernel.scorer.n_coalitions
    evals = len(bg) * c
    log(
        f"{name}: {kind} served; budget: {len(bg)} kernel rows x {c} coalitions = {evals} evaluations per row"
    )
    entry: dict[str, Any] = {"model": name, "scorer": kind, "evaluations": evals, "estimators": {}}

    def report(label: str, one: Callable[[int], np.ndarray]) -> None:
        est, ms = _timed(one, N_HELD_OUT)
        err = rel_mae(est.reshape(truth.shape), truth)
        entry["estimators"][label] = {"rel_mae": err, "ms_per_row": ms}
        log(f"{name}: {label}: rel. MAE {err:.4f}, {ms:.1f} ms/row")
        rows.append([name if len(entry["estimators"]) == 1 else "", label, f"{err:.4f}", f"{ms:.1f}"])

    def report_seeds(label: str, one_of: Callable[[int], Callable[[int], np.ndarray]]) -> None:
        """``one_of(seed)``: the estimator drawn with that seed; mean rel. MAE over ``seeds`` seeds."""
        errs, times = [], []
        for seed in range(SEED, SEED + seeds):
            est, ms = _timed(one_of(seed), N_HELD_OUT)
            errs.append(rel_mae(est.reshape(truth.shape), truth))
            times.append(ms)
        err, se = float(np.mean(errs)), float(np.std(errs, ddof=1) / np.sqrt(seeds)) if seeds > 1 else 0.0
        entry["estimators"][label] = {
            "rel_mae": err,
            "se": se,
            "seeds": seeds,
            "ms_per_row": float(np.mean(times)),
        }
        shown = f"{err:.4f}" if seeds == 1 else f"{err:.4f} +- {se:.4f} ({seeds} seeds)"
        log(f"{name}: {label}: rel. MAE {shown}")
        rows.append([name if len(entry["estimators"]) == 1 else "", label, shown, f"{np.mean(times):.1f}"])

    def served_by(e: Any) -> Callable[[int], np.ndarray]:
        return lambda i: np.asarray(e.explain(held_frame.iloc[i : i + 1], error_estimate=False).values[0])

    entry["chosen"] = served.manifest.scorer.kind
    entry["measured_at_packaging"] = served.manifest.fidelity.estimators
    report(f"ours: {kind} ({len(served.background.weights)} rows)", served_by(served))
    # the error bar: each row's true error (RMS over outputs and features) within its stated 2 sigma
    bars = served.explain(held_frame)
    est = np.asarray(bars.values).reshape(truth.shape)
    true_rms = np.sqrt(np.mean((est - truth) ** 2, axis=(1, 2)))
    entry["coverage_2sigma"] = float(np.mean(true_rms <= 2 * bars.error_estimate.rows))
    entry["sigma_over_true"] = float(np.median(bars.error_estimate.rows / true_rms))
    entry["stated_rel_mae"] = served.manifest.fidelity.rel_mae_vs_full_data
    entry["unseen_rel_mae"] = rel_mae(est, truth)
    log(f"{name}: 2-sigma coverage {entry['coverage_2sigma']:.2f} of {N_HELD_OUT} rows")
    if kind != "kernel":
        report(f"kernel, served before ({len(bg)}x{c})", served_by(kernel))
    if kind == "permutation":
        # the served default spends a chain path's saving on more pairs (more evaluations, decision 45);
        # the same estimator at the kernel's evaluations, through hybrid rows, is the equal-budget row
        # (without a chain path it is the served estimator itself, here over ``seeds`` seeds)
        label = f"ours at equal evaluations: {_equal_budget_label(served)}"
        report_seeds(label, lambda seed: _equal_budget(served, held_frame, seed))
        entry["equal_evaluations"] = label
    from scorers.sampled_designs import leverage_design, msr_design, paired_kernel_design

    for label, design in (
        ("paired kernel", paired_kernel_design),
        ("Leverage SHAP", leverage_design),
        ("MSR-linear", msr_design),
    ):
        report(
            f"{label} ({len(bg)}x{c})",
            _on_rows(design_estimator(design(bg.shape[1], c, SEED), f, bg, w), held),
        )
    report(f"MSR-tree, XGBoost ({len(bg)}x{c})", _on_rows(msr_tree(f, bg, w, c), held))
    shap_label = f"shap KernelExplainer (nsamples={c})"
    report_seeds(shap_label, lambda seed: _on_rows(shap_kernel(f, bg, w, c, seed), held))
    if "equal_evaluations" in entry:
        ours, theirs = entry["estimators"][entry["equal_evaluations"]], entry["estimators"][shap_label]
        entry["ratio_to_shap_kernel"] = ours["rel_mae"] / theirs["rel_mae"]
        log(f"{name}: ours / shap KernelExplainer at equal evaluations: {entry['ratio_to_shap_kernel']:.3f}")
    for approx in SHAPIQ:
        report(
            f"shapiq {approx} (budget={c + 2})",
            _on_rows(shapiq_estimator(approx, f, bg, w, c + 2, truth.shape[1]), held),
        )
    return entry


def _equal_budget_pairs(served: Any) -> tuple[int, int]:
    """(main's pairs per background row through hybrid rows at the kernel's budget, background rows)."""
    from scorers.kinds.permutation import hybrid_pairs

    m, nb = served.masking.n_players, len(served.background.weights)
    return hybrid_pairs(m, nb), nb


def _equal_budget_label(served: Any) -> str:
    pairs, nb = _equal_budget_pairs(served)
    return f"permutation, {pairs} pair(s) x {nb} rows, hybrid rows"


def _equal_budget(served: Any, held: pd.DataFrame, seed: int = SEED) -> Callable[[int], np.ndarray]:
    """The served permutation scorer at the kernel's budget: main's pairs per row through hybrid rows
    (no chain path), the same background; ``seed`` 0 is the served seed, others are offsets from it."""
    from scorers.kinds.permutation import PermutationScorer

    pairs, _ = _equal_budget_pairs(served)
    plain = PermutationScorer(pairs=pairs, seed=served.scorer.params["seed"] + seed - SEED).fit(
        served.scorer._check_fitted()
    )
    return lambda i: plain.shap_values(served.masking.encode(held.iloc[i : i + 1]))[0][0]


def _on_rows(one: Callable[[np.ndarray], np.ndarray], held: np.ndarray) -> Callable[[int], np.ndarray]:
    return lambda i: one(held[i])


def _fmt(errors: dict[str, float] | None) -> str:
    return "-" if not errors else ", ".join(f"{k} {v:.4f}" for k, v in errors.items())


NAMES = ("MLP classifier", "MLP regressor", "KNN regressor", "stacking ensemble")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.blackbox", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "models", nargs="*", metavar="MODEL", help=f"models to run, of {', '.join(NAMES)} (default: all)"
    )
    parser.add_argument(
        "--seeds",
        type=int,
        default=1,
        help="seeds of the two sampled estimators the goal compares (default 1)",
    )
    args = parser.parse_args(argv)
    if unknown := set(args.models) - set(NAMES):
        parser.error(f"unknown model(s) {sorted(unknown)}: expected some of {list(NAMES)}")
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1, got {args.seeds}")
    only = set(args.models)
    section(f"black-box estimators at equal model evaluations (12-{M} features, {N_TRAIN} rows, unseen rows)")
    rows: list[list[Any]] = []
    results = [
        compare(name, model, x, kw, rows, args.seeds)
        for name, model, x, kw in models()
        if not only or name in only
    ]
    say(table(["model", "estimator (rows x coalitions)", "rel. MAE vs full data", "ms/row"], rows))
    say(
        table(
            [
                "model",
                "chosen (errors measured at packaging)",
                "stated rel. MAE",
                "unseen rel. MAE",
                "2-sigma coverage",
                "median sigma / true RMS",
            ],
            [
                [
                    r["model"],
                    f"{r['chosen']} ({_fmt(r['measured_at_packaging'])})",
                    f"{r['stated_rel_mae']:.4f}",
                    f"{r['unseen_rel_mae']:.4f}",
                    f"{r['coverage_2sigma']:.2f}",
                    f"{r['sigma_over_true']:.2f}",
                ]
                for r in results
            ],
        )
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "blackbox.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
