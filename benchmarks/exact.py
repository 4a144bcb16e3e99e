"""Sections 2 and 3: exact scorers against shap's own exact explainers, same background, same rows.

2. GradientBoostingClassifier (log-odds): ours ``scorer="tree"`` (100 sampled rows) vs
   ``shap.TreeExplainer(model, data=<the same 100 rows>, feature_perturbation="interventional")``.
3. StandardScaler + LogisticRegression pipeline (log-odds): ours ``scorer="linear"`` (all 455 training
   rows as background) vs ``shap.LinearExplainer(lr, shap.maskers.Independent(<the same 455 rows,
   standardised>, max_samples=455))``; shap's timed call includes the scaler's transform, which any
   caller explaining raw rows has to run (ours does it inside ``explain``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from .common import best_time, fmt, log, say, section, table, time_interleaved


def _time_pair(
    shap_one: Callable[[int], Any],
    ours_one: Callable[[int], Any],
    n: int,
    shap_batch: Callable[[], Any],
    ours_batch: Callable[[], Any],
    label: str,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Single rows interleaved (shap, ours alternate), then each batch best of 3."""
    shap_one(0), ours_one(0)  # warm
    lat = time_interleaved({"shap": shap_one, "ours": ours_one}, n, label, every=n // 2)
    out = []
    for key, batch in (("shap", shap_batch), ("ours", ours_batch)):
        holder: dict[str, Any] = {}
        t_batch = best_time(lambda b=batch, h=holder: h.__setitem__("out", b()), 3)
        out.append(
            {
                "single_ms_median": 1000 * float(np.median(lat[key])),
                "single_rows_per_s": 1.0 / float(np.median(lat[key])),
                "batch_ms_per_row": 1000 * t_batch / n,
                "batch_rows_per_s": n / t_batch,
                "n_rows_timed": n,
                "out": holder["out"],
            }
        )
    return out[0], out[1]


def _ours_parts(explainer: Any, frame_row: Any) -> dict[str, float]:
    """Where one single-row explain() of ours goes, in ms (best of 20 each)."""
    x = explainer.masking.encode(explainer.validate(frame_row))
    return {
        "validate (schema)": 1000 * best_time(lambda: explainer.validate(frame_row), 20),
        "encode": 1000 * best_time(lambda: explainer.masking.encode(frame_row), 20),
        "scorer.shap_values": 1000 * best_time(lambda: explainer.scorer.shap_values(x), 20),
        "whole explain()": 1000 * best_time(lambda: explainer.explain(frame_row), 20),
    }


def _data() -> tuple[Any, Any, Any, Any]:
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x = pd.DataFrame(data.data, columns=[str(n) for n in data.feature_names])
    y = np.asarray(data.target_names)[data.target]
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
    return x_train.reset_index(drop=True), x_test.reset_index(drop=True), y_train, y_test


def run_tree(opts: Any) -> dict[str, Any]:
    import shap
    from sklearn.ensemble import GradientBoostingClassifier

    import scorers

    logging.getLogger("shap").setLevel(logging.ERROR)
    section(
        "2. GradientBoostingClassifier (100 trees, depth 3), breast cancer: ours 'tree' vs shap.TreeExplainer (interventional)"
    )
    x_train, x_test, y_train, _ = _data()
    model = GradientBoostingClassifier(random_state=0).fit(x_train.to_numpy(), y_train)
    pos = list(model.classes_).index("malignant")
    log("ours: scorers.fit(model, x_train, scorer='tree', background_size=100, summary='sample')")
    t0 = time.perf_counter()
    ours = scorers.fit(
        model,
        x_train,
        scorer="tree",
        background_size=100,
        summary="sample",
        eval_size=20,
        progress=lambda s: log("  fit: " + s),
    )
    fit_s = time.perf_counter() - t0
    bg = np.asarray(ours.scorer.ctx_.game.background, dtype=np.float64)
    say(
        f"ours: output space {ours.output_space}, background {bg.shape[0]} rows sampled by the engine (seed 0); shap gets the same {bg.shape[0]} rows"
    )
    t0 = time.perf_counter()
    ref = shap.TreeExplainer(model, data=bg, feature_perturbation="interventional")
    shap_init_s = time.perf_counter() - t0
    xte = x_test.to_numpy(dtype=np.float64)
    frames = [x_test.iloc[i : i + 1] for i in range(len(x_test))]
    arrays = [xte[i : i + 1] for i in range(len(xte))]
    log(
        f"timing {len(frames)} test rows one at a time and as one batch (shap: check_additivity=False, its fastest path)"
    )
    r_shap, r_ours = _time_pair(
        lambda i: ref.shap_values(arrays[i], check_additivity=False),
        lambda i: ours.explain(frames[i]),
        len(frames),
        lambda: ref.shap_values(xte, check_additivity=False),
        lambda: ours.explain(x_test),
        "tree",
    )
    sv = np.asarray(r_shap.pop("out"))
    if sv.ndim == 3:  # (n, M, K)
        sv = sv[:, :, pos]
    exp = r_ours.pop("out")
    ours_v = exp.values[:, pos, :]
    margin = model.decision_function(xte)
    shap_add = float(np.max(np.abs(sv.sum(1) + float(np.ravel(ref.expected_value)[-1]) - margin)))
    out = {
        "model": "GradientBoostingClassifier(random_state=0)",
        "space": ours.output_space,
        "background_rows": int(bg.shape[0]),
        "ours": {**r_ours, "fit_seconds": fit_s, "additivity_max_abs_error": float(exp.additivity_error())},
        "shap": {**r_shap, "init_seconds": shap_init_s, "additivity_max_abs_error": shap_add},
        "max_abs_diff": float(np.max(np.abs(ours_v - sv))),
        "ours_single_row_parts_ms": _ours_parts(ours, frames[0]),
        "mean_abs_phi": float(np.mean(np.abs(sv))),
    }
    _print_pair(out, "shap.TreeExplainer(interventional)", "ours tree")
    return out


def run_linear(opts: Any) -> dict[str, Any]:
    import shap
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import scorers

    logging.getLogger("shap").setLevel(logging.ERROR)
    section(
        "3. StandardScaler + LogisticRegression pipeline, breast cancer: ours 'linear' vs shap.LinearExplainer"
    )
    x_train, x_test, y_train, _ = _data()
    pipe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000)).fit(x_train, y_train)
    pos = list(pipe.classes_).index("malignant")
    log(
        "ours: scorers.fit(pipeline, x_train, scorer='linear') (background: the engine's default, every training row here)"
    )
    t0 = time.perf_counter()
    ours = scorers.fit(pipe, x_train, scorer="linear", eval_size=20, progress=lambda s: log("  fit: " + s))
    fit_s = time.perf_counter() - t0
    nb = len(ours.scorer.ctx_.game.weights)
    say(
        f"ours: masking mode {ours.manifest.masking.mode} ({ours.manifest.masking.reason}), output space {ours.output_space}, background {nb} rows ({ours.manifest.background.model_dump()})"
    )
    pre, lr = pipe[:-1], pipe[-1]
    z_bg = pre.transform(x_train)
    t0 = time.perf_counter()
    ref = shap.LinearExplainer(lr, shap.maskers.Independent(z_bg, max_samples=len(z_bg)))
    shap_init_s = time.perf_counter() - t0
    frames = [x_test.iloc[i : i + 1] for i in range(len(x_test))]
    log(
        f"timing {len(frames)} test rows one at a time and as one batch (shap's call includes the scaler transform)"
    )
    r_shap, r_ours = _time_pair(
        lambda i: ref.shap_values(pre.transform(frames[i])),
        lambda i: ours.explain(frames[i]),
        len(frames),
        lambda: ref.shap_values(pre.transform(x_test)),
        lambda: ours.explain(x_test),
        "linear",
    )
    sv = np.asarray(r_shap.pop("out"))
    if sv.ndim == 3:
        sv = sv[:, :, pos]
    exp = r_ours.pop("out")
    ours_v = exp.values[:, pos, :]
    margin = pipe.decision_function(x_test)
    shap_add = float(np.max(np.abs(sv.sum(1) + float(np.ravel(ref.expected_value)[-1]) - margin)))
    out = {
        "model": "make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000))",
        "space": ours.output_space,
        "background_rows": int(nb),
        "ours": {**r_ours, "fit_seconds": fit_s, "additivity_max_abs_error": float(exp.additivity_error())},
        "shap": {**r_shap, "init_seconds": shap_init_s, "additivity_max_abs_error": shap_add},
        "max_abs_diff": float(np.max(np.abs(ours_v - sv))),
        "ours_single_row_parts_ms": _ours_parts(ours, frames[0]),
        "mean_abs_phi": float(np.mean(np.abs(sv))),
    }
    _print_pair(out, "shap.LinearExplainer(Independent masker)", "ours linear")
    return out


def _print_pair(out: dict[str, Any], shap_label: str, ours_label: str) -> None:
    s, o = out["shap"], out["ours"]
    say(
        table(
            [
                "method (" + out["space"] + " space)",
                "single ms (median)",
                "single rows/s",
                "batch ms/row",
                "batch rows/s",
                "additivity err",
                "setup s",
            ],
            [
                [
                    shap_label,
                    fmt(s["single_ms_median"], ".3f"),
                    fmt(s["single_rows_per_s"], ".0f"),
                    fmt(s["batch_ms_per_row"], ".3f"),
                    fmt(s["batch_rows_per_s"], ".0f"),
                    fmt(s["additivity_max_abs_error"], ".1e"),
                    fmt(s["init_seconds"], ".2f"),
                ],
                [
                    ours_label,
                    fmt(o["single_ms_median"], ".3f"),
                    fmt(o["single_rows_per_s"], ".0f"),
                    fmt(o["batch_ms_per_row"], ".3f"),
                    fmt(o["batch_rows_per_s"], ".0f"),
                    fmt(o["additivity_max_abs_error"], ".1e"),
                    fmt(o["fit_seconds"], ".2f") + " (fit)",
                ],
            ],
        )
    )
    say(
        "ours, one single-row call: "
        + ", ".join(f"{k} {v:.3f} ms" for k, v in out["ours_single_row_parts_ms"].items())
    )
    say(
        f"ours / shap per-row time: single {o['single_ms_median'] / s['single_ms_median']:.2f}x, batch {o['batch_ms_per_row'] / s['batch_ms_per_row']:.2f}x; "
        f"max |ours - shap| = {out['max_abs_diff']:.2e} (mean |phi| = {out['mean_abs_phi']:.3g}) over {o['n_rows_timed']} rows x M features"
    )
