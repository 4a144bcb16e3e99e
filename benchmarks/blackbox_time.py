"""Per-row time of the black-box estimators at equal model evaluations, and where it goes (issue 24).

``.venv/bin/python -m benchmarks.blackbox_time [model name ...]`` packages each model of
benchmarks/blackbox.py twice without calibration (only the time per row is measured here, not the error):
``permutation`` on 300 uniform rows and ``kernel`` on its 20 rows, the same ~evaluations per row.  It times
``scorer.shap_values`` one row at a time, the two estimators alternating in three rounds (the machine is
shared: compare within a round), then profiles the ``permutation`` scorer and prints the share of its time
spent in the model call.
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from typing import Any

import pandas as pd

import scorers

from .blackbox import N_TRAIN, models
from .common import say, section, table

ROUNDS, ROWS = 3, 3


def _model_share(stats: pstats.Stats, total: float) -> float:
    """Share of ``total`` seconds spent inside the model's own predict call (onnxruntime or sklearn)."""
    inside = 0.0
    for (path, _, fn), row in stats.stats.items():  # type: ignore[attr-defined]
        if fn in ("run", "predict", "predict_proba") and ("onnx" in path or "sklearn" in path):
            inside = max(inside, row[3])  # cumulative time of the outermost such call
    return inside / total if total else 0.0


def measure(name: str, model: Any, x: Any, kw: dict[str, Any]) -> list[list[Any]]:
    frame = pd.DataFrame(x[:N_TRAIN], columns=[f"f{i}" for i in range(x.shape[1])])
    held = pd.DataFrame(x[N_TRAIN:], columns=frame.columns)
    fitted = {
        "permutation": scorers.fit(
            model,
            frame,
            eval_size=5,
            scorer="permutation",
            calibrate=False,
            background_size=N_TRAIN,
            summary="sample",
            **kw,
        ),
        "kernel": scorers.fit(model, frame, eval_size=5, scorer="kernel", calibrate=False, **kw),
    }
    xe = fitted["kernel"].masking.encode(held)
    for e in fitted.values():
        e.scorer.shap_values(xe[:1])  # warm-up
    ms: dict[str, list[float]] = {k: [] for k in fitted}
    for _ in range(ROUNDS):
        for k, e in fitted.items():
            t = time.perf_counter()
            for i in range(ROWS):
                e.scorer.shap_values(xe[i : i + 1])
            ms[k].append((time.perf_counter() - t) / ROWS * 1000)
    prof = cProfile.Profile()
    t = time.perf_counter()
    prof.enable()
    for i in range(ROWS):
        fitted["permutation"].scorer.shap_values(xe[i : i + 1])
    prof.disable()
    share = _model_share(pstats.Stats(prof), time.perf_counter() - t)
    rows = []
    for k, e in fitted.items():
        evals = len(e.background.weights) * int(e.scorer.n_coalitions or 0)
        rows.append(
            [
                name if k == "permutation" else "",
                f"{k} ({len(e.background.weights)}x{e.scorer.n_coalitions} = {evals})",
                " / ".join(f"{v:.0f}" for v in ms[k]),
                f"{sum(ms[k]) / sum(ms['kernel']):.2f}",
                f"{share:.1%}" if k == "permutation" else "",
            ]
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    only = set(argv if argv is not None else sys.argv[1:])
    section("black-box estimators: ms per row at equal evaluations (three alternating rounds)")
    rows: list[list[Any]] = []
    for name, model, x, kw in models():
        if not only or name in only:
            rows += measure(name, model, x, kw)
    say(
        table(
            [
                "model",
                "estimator (rows x coalitions = evaluations)",
                "ms/row per round",
                "total / kernel",
                "in the model call",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
