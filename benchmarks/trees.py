"""The tree scorer against WOODELF (``woodelf-explainer``) and shap's interventional TreeExplainer.

    .venv/bin/python -m benchmarks.trees

A GradientBoostingRegressor (100 trees, depth 4) on 20 features; 10,000 training rows as the
background (the tree scorer's default: every training row); 20,000 rows explained.  WOODELF gets the
same model and background (values compared: max abs diff); shap's TreeExplainer runs at 100 background
rows (its practical limit) on a 1,000-row slice, its time scaled to 20,000 rows.  Times are the best of
2 on this shared machine; nothing here is asserted.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

import scorers

from .common import best_of


def _best(fn: Callable[[], Any], repeat: int = 2) -> tuple[float, Any]:
    return best_of(fn, repeat)


def main(n_train: int = 10_000, n_explain: int = 20_000, m: int = 20) -> None:
    import shap
    from sklearn.ensemble import GradientBoostingRegressor
    from woodelf import WoodelfExplainer

    rng = np.random.default_rng(0)
    x = rng.normal(size=(n_train, m))
    y = x[:, 0] + np.sin(2 * x[:, 1]) * x[:, 2] + 0.5 * x[:, 3] * x[:, 4] + rng.normal(size=n_train)
    frame = pd.DataFrame(x, columns=[f"x{j}" for j in range(m)])
    rows = pd.DataFrame(rng.normal(size=(n_explain, m)), columns=frame.columns)
    model = GradientBoostingRegressor(n_estimators=100, max_depth=4, random_state=0).fit(frame, y)

    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, frame, eval_size=20)
    packaging = time.perf_counter() - t0
    bg = explainer.background
    scorer = explainer.scorer
    z = rows.to_numpy()
    ours_s, (ours, _) = _best(lambda: scorer.shap_values(z))
    one_s = min(_best(lambda: explainer.explain(rows.iloc[:1]))[0] for _ in range(5))

    def woodelf() -> np.ndarray:
        return np.asarray(WoodelfExplainer(model, frame).shap_values(rows, verbose=False))

    wood_s, wood = _best(woodelf)
    n_shap = 1000
    shap_bg = frame.iloc[np.sort(rng.choice(n_train, 100, replace=False))]
    shap_s, _ = _best(
        lambda: shap.TreeExplainer(model, shap_bg, feature_perturbation="interventional").shap_values(
            rows.iloc[:n_shap]
        ),
        repeat=1,
    )
    shap_s *= n_explain / n_shap
    print(
        f"{n_train} training rows, {m} features, 100 trees of depth 4; background: tree scorer "
        f"{len(bg.weights)} rows ({bg.method}, stated error {explainer.manifest.fidelity.rel_mae_vs_full_data}); "
        f"{n_explain} rows explained"
    )
    print(
        "| explainer | background | seconds for 20,000 rows | rows/s | ratio to tree scorer | max abs diff |"
    )
    print("|---|---|---|---|---|---|")
    diff = float(np.max(np.abs(wood - ours[:, 0, :])))
    for name, b, s, d in (
        ("tree scorer (scorers)", len(bg.weights), ours_s, "-"),
        ("WOODELF 0.4.8", n_train, wood_s, f"{diff:.2g}"),
        ("shap 0.51 TreeExplainer (interventional)", 100, shap_s, "(other background)"),
    ):
        print(f"| {name} | {b} | {s:.2f} | {n_explain / s:,.0f} | {s / ours_s:.2f}x | {d} |")
    print(
        f"tree scorer: packaging {packaging:.1f} s; one row in process (explain_frame) {one_s * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
