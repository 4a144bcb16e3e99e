"""Fidelity on held-out models: the old default background, the new (calibrated) default, and --max-error.

``.venv/bin/python -m benchmarks.fidelity`` packages small held-out models of 6-12 features (400 training
rows) with each setting and measures, on 6 rows they never saw, the distance of the served explanations
to brute-force interventional Shapley values against all 400 training rows (the tests' independent
oracle), beside the stated error and the explain time per row.  Written to benchmarks/out/fidelity.json.

``--stated N`` packages only the default configuration and compares, per model, its stated error
(``manifest.fidelity.rel_mae_vs_full_data``, no evaluation rows given) with the error measured on N rows
it never saw, and their ratio (unseen / stated: above 1 the statement is optimistic).  Written to
benchmarks/out/fidelity_stated.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import scorers

from .common import OUT, log, say, section, table

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "scorers"))
from scorer_support import frame_model, shapley_oracle  # noqa: E402  (the tests' independent oracle)

N_TRAIN = 400
N_HELD_OUT = 6  # unseen rows per model (``--stated N`` sets it before the data are drawn)
FLOOR = 1e-6  # errors below this are float noise (an exact scorer): the ratio floors both sides here
OLD_DEFAULT = {  # the background every kind used before fidelity (rows, summary)
    "tree": (100, "sample"),
    "kernel_machine": (50, "kmeans"),
    "kernel": (20, "kmeans"),
    "linear": (1000, "sample"),
}


def _old_exact(m: int) -> tuple[int, str]:
    return int(max(8, min(50, 2**17 // 2**m))), "kmeans"


def _regression(m: int) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=N_TRAIN + N_HELD_OUT, n_features=m, random_state=0)
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(m)]), y


def _classification(m: int, k: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_classification

    x, y = make_classification(
        n_samples=N_TRAIN + N_HELD_OUT,
        n_features=m,
        n_informative=min(m - 2, 6),
        n_redundant=1,
        n_classes=k,
        n_clusters_per_class=1,
        random_state=0,
    )
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(m)]), y


def models() -> Iterator[tuple[str, Any, pd.DataFrame, bool, dict[str, Any]]]:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import (
        GradientBoostingClassifier,
        HistGradientBoostingClassifier,
        RandomForestRegressor,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    from sklearn.svm import SVC, SVR

    def fit(model: Any, x: pd.DataFrame, y: np.ndarray) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(x.to_numpy()[:N_TRAIN], y[:N_TRAIN])

    x, y = _regression(8)
    yield (
        "random forest regressor",
        fit(RandomForestRegressor(50, max_depth=6, random_state=0), x, y),
        x,
        True,
        {},
    )
    yield "RBF SVR", fit(SVR(C=10, gamma=0.5), x, y), x, True, {}
    yield (
        "MLP regressor",
        fit(MLPRegressor(hidden_layer_sizes=(32,), max_iter=2000, random_state=0), x, y),
        x,
        True,
        {},
    )
    x6, y6 = _regression(6)
    yield "KNN regressor", fit(KNeighborsRegressor(10), x6, y6), x6, True, {}
    xc, yc = _classification(12)
    mlp = fit(MLPClassifier(hidden_layer_sizes=(32,), max_iter=2000, random_state=0), xc, yc)
    yield "12-feature MLP classifier", mlp, xc, True, {}
    x11, y11 = _classification(11)
    mlp11 = fit(MLPClassifier(hidden_layer_sizes=(16,), max_iter=2000, random_state=0), x11, y11)
    yield "11-feature MLP (kernel)", mlp11, x11, True, {"scorer": "kernel", "output_space": "probability"}
    x8, y8 = _classification(8)
    yield "logistic regression", fit(LogisticRegression(max_iter=1000), x8, y8), x8, True, {}
    svc = fit(SVC(probability=True, random_state=0), x8, y8)
    yield "RBF SVC (margin)", svc, x8, True, {}
    yield (
        "RBF SVC (probability, anchored kernel)",
        svc,
        x8,
        True,
        {"scorer": "kernel", "output_space": "probability"},
    )
    x3, y3 = _classification(7, 3)
    yield (
        "3-class gradient boosting",
        fit(GradientBoostingClassifier(n_estimators=30, random_state=0), x3, y3),
        x3,
        True,
        {},
    )
    rng = np.random.default_rng(0)
    n = N_TRAIN + N_HELD_OUT
    xp = pd.DataFrame(
        {
            "a": rng.normal(size=n),
            "b": rng.normal(size=n),
            "c": rng.choice(["x", "y", "z"], n).astype(object),
            "d": rng.choice(["p", "q"], n).astype(object),
            "e": rng.normal(size=n),
            "f": rng.normal(size=n),
        }
    )
    yp = ((xp.a + (xp.c == "x") * 1.5 - xp.e * xp.f + rng.normal(0, 0.3, n)) > 0).astype(int)
    pre = ColumnTransformer(
        [
            ("num", StandardScaler(), ["a", "b", "e", "f"]),
            ("cat", OneHotEncoder(handle_unknown="ignore"), ["c", "d"]),
        ]
    )
    pipe = Pipeline([("pre", pre), ("m", HistGradientBoostingClassifier(max_iter=40, random_state=0))])
    yield "one-hot + HistGradientBoosting", pipe.fit(xp[:N_TRAIN], yp[:N_TRAIN]), xp, False, {}


def _unseen_error(e: Any, model: Any, train: pd.DataFrame, held_out: pd.DataFrame, as_array: bool) -> float:
    """The served explainer's rel. MAE against brute-force full-data values on the unseen rows."""
    f = frame_model(model, e.output_space, as_array=as_array)
    truth = np.concatenate(
        [
            shapley_oracle(f, train, np.ones(N_TRAIN), held_out.iloc[i : i + 1])[0]
            for i in range(len(held_out))
        ]
    )
    return float(np.mean(np.abs(e.explain(held_out).values - truth)) / np.mean(np.abs(truth)))


def stated_vs_unseen(only: str = "") -> int:
    section(f"fidelity: stated error (default, no evaluation rows) vs the error on {N_HELD_OUT} unseen rows")
    rows: list[list[Any]] = []
    results = []
    for name, model, x, as_array, kwargs in models():
        if only and not any(part in name for part in only.split(",")):
            continue
        train = x.iloc[:N_TRAIN].reset_index(drop=True)
        held_out = x.iloc[N_TRAIN:].reset_index(drop=True)
        log(f"{name}: packaging with the default")
        t0 = time.perf_counter()
        e = scorers.fit(model, train, eval_size=20, **kwargs)
        fit_s = time.perf_counter() - t0
        fid = e.manifest.fidelity
        assert fid is not None
        log(f"{name}: brute force against all {N_TRAIN} rows at {len(held_out)} unseen rows")
        unseen = _unseen_error(e, model, train, held_out, as_array)
        stated = fid.rel_mae_vs_full_data
        ratio = max(unseen, FLOOR) / max(stated, FLOOR)
        results.append(
            {
                "model": name,
                "scorer": e.manifest.scorer.kind,
                "stated": stated,
                "unseen": unseen,
                "ratio": ratio,
                "rows_stated": fid.rows_checked,
                "fidelity_s": fid.seconds,
                "fit_s": fit_s,
            }
        )
        rows.append(
            [
                name,
                e.manifest.scorer.kind,
                f"{stated:.4f}",
                f"{unseen:.4f}",
                f"{ratio:.2f}",
                fid.rows_checked,
                f"{fid.seconds or 0:.1f}",
                f"{fit_s:.1f}",
            ]
        )
        log(f"{name}: stated {stated:.4f}, unseen {unseen:.4f}, ratio {ratio:.2f}")
    headers = ["model", "scorer", "stated", f"unseen ({N_HELD_OUT} rows)", "unseen / stated"]
    say(table([*headers, "rows stated", "fidelity s", "packaging s"], rows))
    OUT.mkdir(exist_ok=True)
    (OUT / "fidelity_stated.json").write_text(json.dumps(results, indent=2))
    return 0


def main() -> int:
    global N_HELD_OUT
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stated", type=int, metavar="N", help="stated vs unseen error on N unseen rows")
    parser.add_argument(
        "--only",
        default="",
        help="with --stated: the models whose name contains one of these (comma-separated)",
    )
    args = parser.parse_args()
    if args.stated:
        N_HELD_OUT = args.stated
        return stated_vs_unseen(args.only)
    section("fidelity: served explanations against brute-force full-data Shapley values (held-out rows)")
    rows: list[list[Any]] = []
    results = []
    for name, model, x, as_array, kwargs in models():
        train = x.iloc[:N_TRAIN].reset_index(drop=True)
        held_out = x.iloc[N_TRAIN:].reset_index(drop=True)
        log(f"{name}: packaging with the new default")
        t0 = time.perf_counter()
        new = scorers.fit(model, train, eval_size=20, **kwargs)
        new_s = time.perf_counter() - t0
        kind = new.manifest.scorer.kind
        size, method = OLD_DEFAULT.get(kind) or _old_exact(len(new.features))
        old = scorers.fit(model, train, eval_size=20, background_size=size, summary=method, **kwargs)
        tuned = scorers.fit(model, train, eval_size=20, max_error=0.01, **kwargs)
        log(f"{name}: brute force against all {N_TRAIN} rows")
        f = frame_model(model, new.output_space, as_array=as_array)
        truth = np.concatenate(
            [
                shapley_oracle(f, train, np.ones(N_TRAIN), held_out.iloc[i : i + 1])[0]
                for i in range(N_HELD_OUT)
            ]
        )
        entry: dict[str, Any] = {"model": name, "scorer": kind, "space": new.output_space, "fit_s": new_s}
        for label, e in (("old default", old), ("default", new), ("max_error=0.01", tuned)):
            measured = float(np.mean(np.abs(e.explain(held_out).values - truth)) / np.mean(np.abs(truth)))
            fid, checks = e.manifest.fidelity, e.manifest.checks
            assert fid is not None and checks is not None
            entry[label] = {
                "measured": measured,
                "stated": fid.rel_mae_vs_full_data,
                "background_rows": fid.background_rows,
                "coalitions": e.scorer.n_coalitions,
                "ms_per_row": checks.explain_ms_per_row_single,
            }
            rows.append(
                [
                    name if label == "old default" else "",
                    kind if label == "old default" else "",
                    label,
                    f"{fid.background_rows} {e.manifest.background.method}",
                    f"{measured:.4f}",
                    f"{fid.rel_mae_vs_full_data:.4f}",
                    f"{checks.explain_ms_per_row_single:.2f}",
                ]
            )
        results.append(entry)
    say(
        table(
            ["model", "scorer", "setting", "background", "measured rel. MAE", "stated", "ms/row (1 row)"],
            rows,
        )
    )
    OUT.mkdir(exist_ok=True)
    (OUT / "fidelity.json").write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
