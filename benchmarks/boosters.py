"""LightGBM and XGBoost explained exactly (the tree scorer) against KernelSHAP (the kernel scorer), in
the same space (log-odds), on the same background, and against each library's own path-dependent
TreeSHAP (``pred_contrib`` / ``pred_contribs``, no background: a different quantity).

    .venv/bin/python -m benchmarks.boosters

Small classifiers (8 features, 2000 rows, 100 trees of 15 leaves / depth 4) and the same 100-row
background sample for both scorers.  With 8 players the kernel design holds all 254 coalitions, so its
values equal the tree scorer's to rounding: the comparison is of time.  Times are the best of 3 on this
shared machine; nothing here is asserted.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import scorers


def _best(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _data(n: int = 2000, m: int = 8) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, m))
    x[rng.random(x.shape) < 0.05] = np.nan
    z = np.nan_to_num(x)
    y = (z[:, 0] + np.sin(2 * z[:, 1]) * z[:, 2] + 0.5 * z[:, 3] * z[:, 4] + rng.normal(size=n) > 0).astype(
        int
    )
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(m)]), y


def main() -> None:
    import lightgbm as lgb
    import xgboost as xgb

    x, y = _data()
    rows = x.iloc[:50]
    models = {
        "lightgbm": lgb.LGBMClassifier(n_estimators=100, num_leaves=15, verbose=-1, random_state=0).fit(x, y),
        "xgboost": xgb.XGBClassifier(n_estimators=100, max_depth=4, random_state=0).fit(x, y),
    }
    print(f"{len(x)} rows, {x.shape[1]} features, 100 trees; background 100 rows; log-odds; ms per row")
    print(
        "| model | scorer | one row | batch of 50 | max abs diff to tree | library contribs: max abs diff |"
    )
    print("|---|---|---|---|---|---|")
    for name, model in models.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            same = {"background_size": 100, "summary": "sample", "eval_size": 20}
            tree = scorers.fit(model, x, **same)
            kernel = scorers.fit(model, x, scorer="kernel", output_space="log_odds", **same)
        exact = tree.explain(rows).values
        booster = model.booster_ if name == "lightgbm" else model.get_booster()
        if name == "lightgbm":
            contrib = booster.predict(rows.to_numpy(), pred_contrib=True)[:, :-1]
        else:
            contrib = booster.predict(
                xgb.DMatrix(rows, feature_names=list(rows.columns)), pred_contribs=True
            )[:, :-1]
        lib_diff = float(np.max(np.abs(contrib - exact[:, 1, :])))
        for label, explainer in (("tree (exact)", tree), ("kernel", kernel)):
            one = _best(lambda e=explainer: e.explain(rows.iloc[:1])) * 1000
            batch = _best(lambda e=explainer: e.explain(rows)) * 1000 / len(rows)
            diff = float(np.max(np.abs(explainer.explain(rows).values - exact)))
            lib = f"{lib_diff:.3g} (path-dependent)" if label.startswith("tree") else ""
            print(f"| {name} | {label} | {one:.2f} | {batch:.3f} | {diff:.2g} | {lib} |")


if __name__ == "__main__":
    main()
