"""Error bars on held-out rows: the 2-sigma band's coverage and width against the brute-force truth
(issue 24, "An error bar on every answer").

``.venv/bin/python -m benchmarks.errorbars [--rows N] [--train T] [--only NAME]`` fits three cheap
13-feature black boxes (an MLP classifier, an MLP regressor, a KNN regressor) on T (default 100) rows
with the CLI's defaults (the estimator chosen
at packaging, ``kernel`` or ``permutation``), and the ``kernel`` scorer beside each, then explains N
(default 40) rows they never saw (``--only``: the models whose name contains NAME) with ``ScoringExplainer.explain`` (the error estimate is always there in
the Python API).  The truth is exact interventional Shapley values against all T training rows
(``benchmarks.blackbox.exact_truth``: every coalition, no sampling error).  Per model and scorer: the
share of rows whose true error (RMS over outputs and features) lies within 2 sigma, and the band's width
as sigma / true error (mean over rows of each, and the median of the per-row ratio).  The truth is cached
in benchmarks/out/errorbars_truth_T.npz.
"""

from __future__ import annotations

import json
import sys
import warnings
from typing import Any

import numpy as np
import pandas as pd

import scorers

from .blackbox import exact_truth, output_fn
from .common import OUT, log, say, section, table

M, SEED = 13, 0


def models(n_train: int) -> dict[str, tuple[Any, np.ndarray]]:
    from sklearn.datasets import make_classification, make_friedman1
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    n = n_train + 200
    xc, yc = make_classification(n, M, n_informative=6, random_state=SEED)
    xr, yr = make_friedman1(n, M, random_state=SEED)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=800, random_state=SEED).fit(
            xc[:n_train], yc[:n_train]
        )
        reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=800, random_state=SEED).fit(
            xr[:n_train], yr[:n_train]
        )
        knn = KNeighborsRegressor(5).fit(xr[:n_train], yr[:n_train])
    return {"MLP classifier": (clf, xc), "MLP regressor": (reg, xr), "KNN regressor": (knn, xr)}


def bands(explainer: Any, held: pd.DataFrame, truth: np.ndarray) -> dict[str, Any]:
    exp = explainer.explain(held)
    est = exp.error_estimate
    err = np.sqrt(np.mean((np.asarray(exp.values) - truth).reshape(len(held), -1) ** 2, axis=1))
    return {
        "scorer": explainer.manifest.scorer.kind,
        "background_rows": len(explainer.background.weights),
        "rows": len(held),
        "coverage_2sigma": float(np.mean(err <= 2 * est.rows)),
        "mean_sigma_over_mean_true": float(np.mean(est.rows) / np.mean(err)),
        "median_sigma_over_true": float(np.median(est.rows / err)),
        "sampling_share": float(np.mean(est.sampling**2) / np.mean(est.rows**2)),
    }


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    n_rows = int(args[args.index("--rows") + 1]) if "--rows" in args else 40
    n_train = int(args[args.index("--train") + 1]) if "--train" in args else 100
    only = args[args.index("--only") + 1] if "--only" in args else ""
    OUT.mkdir(exist_ok=True)
    cache_path = OUT / f"errorbars_truth_{n_train}.npz"
    cache = dict(np.load(cache_path)) if cache_path.exists() else {}
    results, rows = [], []
    for name, (model, x) in models(n_train).items():
        if only not in name:
            continue
        cols = [f"f{j}" for j in range(M)]
        train = pd.DataFrame(x[:n_train], columns=cols)
        held = pd.DataFrame(x[n_train : n_train + n_rows], columns=cols)
        for label, kw in (("default", {}), ("kernel", {"scorer": "kernel"})):
            log(f"{name}: packaging ({label})")
            explainer = scorers.fit(model, train, eval_size=20, **kw)
            key = f"{name}|{explainer.output_space}|{n_rows}"
            if key not in cache:
                log(f"{name}: the exact truth of {n_rows} rows (2^{M} coalitions x {n_train} rows)")
                f = output_fn(model, explainer.output_space)
                cache[key] = np.stack([exact_truth(f, r, train.to_numpy()) for r in held.to_numpy()])
                np.savez(cache_path, **cache)
            entry = {"model": name, "packaged": label, **bands(explainer, held, cache[key])}
            results.append(entry)
            rows.append(
                [
                    name,
                    f"{label}: {entry['scorer']} ({entry['background_rows']} rows)",
                    f"{entry['coverage_2sigma']:.3f}",
                    f"{entry['mean_sigma_over_mean_true']:.2f}",
                    f"{entry['median_sigma_over_true']:.2f}",
                    f"{entry['sampling_share']:.2f}",
                ]
            )
            log(f"{name} {label}: {entry}")
    section(f"Error bars on {n_rows} held-out rows per model, {n_train} training rows (issue 24)")
    say(
        table(
            [
                "model",
                "scorer",
                "2-sigma coverage",
                "mean sigma / mean true",
                "median sigma/true",
                "sampling share",
            ],
            rows,
        )
    )
    (OUT / f"errorbars_{n_train}.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
