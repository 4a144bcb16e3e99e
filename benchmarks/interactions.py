"""Pairwise Shapley interaction values (``ScoringExplainer.interactions``) against shapiq and shap.

    .venv/bin/python -m benchmarks.interactions

Three models, each packaged with ``scorers.fit`` defaults: a RandomForestRegressor (100 trees,
depth 4) and a Ridge on the diabetes data (10 features; background: every training row, 442, for the
tree; 1,000-row sample cap for the linear model), and the seed's SVC margins (breast cancer, 30 features,
the kernel_machine scorer).  shapiq gets the SAME interventional game (the packaged background rows and
weights, the model's output in the explained space): ``ExactComputer`` enumerates all 2^M coalitions
(10 features only), ``PermutationSamplingSII`` estimates (the SVC, 30 features, budget 2^14
coalitions).  Errors are max |SII| differences (ours - theirs).  shap's ``shap_interaction_values`` and
shapiq's ``TreeExplainer`` (both path-dependent: another game) are timed only.  Times are the best of 2
on this shared machine; nothing here is asserted.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

import scorers

from .common import best_of


def _best(fn: Callable[[], Any], repeat: int = 2) -> tuple[float, Any]:
    return best_of(fn, repeat)


def _game(
    explainer: Any, f: Callable[[np.ndarray], np.ndarray], row: np.ndarray
) -> Callable[[np.ndarray], np.ndarray]:
    """v(S) on the packaged background, raw columns (the masking of these models is the identity)."""
    bg = explainer.background.raw.to_numpy(dtype=np.float64)
    w = np.asarray(explainer.background.weights, dtype=np.float64)
    w = w / w.sum()

    def v(coalitions: np.ndarray) -> np.ndarray:
        coalitions = np.atleast_2d(coalitions)
        hyb = np.where(coalitions[:, None, :], row[None, None, :], bg[None, :, :])
        return f(hyb.reshape(-1, bg.shape[1])).reshape(len(coalitions), len(bg)) @ w

    return v


def _sii_matrix(iv: Any, m: int) -> np.ndarray:
    out = np.zeros((m, m))
    for i in range(m):
        for j in range(i + 1, m):
            out[i, j] = out[j, i] = iv[(i, j)]
    return out


def _ours(explainer: Any, rows: Any) -> tuple[float, np.ndarray]:
    t, got = _best(lambda: explainer.interactions(rows))
    k = got.values.shape[1] - 1  # the positive class of a binary classifier, the output of a regressor
    return t, 2 * got.values[:, k] * ~np.eye(got.values.shape[-1], dtype=bool)


def _line(name: str, method: str, rows: int, t: float, err: str) -> None:
    print(f"| {name} | {method} | {rows} | {rows / t:,.2f} | {err} |")


def main() -> None:
    import shap
    import shapiq
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.linear_model import Ridge

    from scorers.examples import breast_cancer_svc

    warnings.simplefilter("ignore")
    data = load_diabetes(as_frame=True)
    x, y = data.data, data.target
    print("| model | method | rows | rows/s | max abs SII error |")
    print("|---|---|---|---|---|")
    for name, model in (
        (
            "forest 100x4 (diabetes, 442 bg)",
            RandomForestRegressor(n_estimators=100, max_depth=4, random_state=0),
        ),
        ("Ridge (diabetes)", Ridge()),
    ):
        model.fit(x, y)
        explainer = scorers.fit(model, x)
        rows = x.iloc[:200]
        t, ours = _ours(explainer, rows)
        _line(name, f"ours ({explainer.scorer.name})", len(rows), t, "-")
        few = rows.iloc[:3]
        f = lambda z, model=model: model.predict(z)  # noqa: E731
        errs, t_q = [], 0.0
        for i in range(len(few)):
            game = _game(explainer, f, few.to_numpy(dtype=np.float64)[i])
            dt, iv = _best(
                lambda game=game: shapiq.ExactComputer(game, n_players=x.shape[1])("SII", order=2), 1
            )
            t_q += dt
            errs.append(np.abs(ours[i] - _sii_matrix(iv, x.shape[1])).max())
        _line(name, "shapiq ExactComputer (same game)", len(few), t_q, f"{max(errs):.1e}")
        if name.startswith("forest"):
            ts, _ = _best(
                lambda model=model, rows=rows: shap.TreeExplainer(model).shap_interaction_values(rows)
            )
            _line(name, "shap TreeExplainer (path-dependent)", len(rows), ts, "other game")
            tq, _ = _best(
                lambda model=model, rows=rows: shapiq.TreeExplainer(
                    model, max_order=2, min_order=1, index="SII"
                ).explain_X(rows.to_numpy()),
                1,
            )
            _line(name, "shapiq TreeExplainer (path-dependent)", len(rows), tq, "other game")
    svc, x_train, x_test, *_ = breast_cancer_svc()
    explainer = scorers.fit(svc, x_train)
    rows = x_test.iloc[:20]
    t, ours = _ours(explainer, rows)
    _line(
        f"seed SVC margin ({x_train.shape[1]} features)", f"ours ({explainer.scorer.name})", len(rows), t, "-"
    )
    f = lambda z: svc.decision_function(z)  # noqa: E731
    errs, t_q = [], 0.0
    for i in range(2):
        game = _game(explainer, f, rows.to_numpy(dtype=np.float64)[i])
        approx = shapiq.PermutationSamplingSII(n=x_train.shape[1], max_order=2, index="SII", random_state=0)
        dt, iv = _best(lambda game=game, approx=approx: approx.approximate(2**14, game), 1)
        t_q += dt
        errs.append(np.abs(ours[i] - _sii_matrix(iv, x_train.shape[1])).max())
    _line("seed SVC margin", "shapiq PermutationSamplingSII (2^14)", 2, t_q, f"{max(errs):.1e} (its error)")


if __name__ == "__main__":
    main()
