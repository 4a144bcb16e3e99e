"""Batch explanations: rows/s of each engine (local processes, Spark local[N]) at 1 and 2 workers.

    .venv/bin/python -m benchmarks.batch                      # 100,000 rows of each model
    .venv/bin/python -m benchmarks.batch --svc-rows 10000     # the seed's SVC costs ~11 ms/row/core

Models: the seed's SVC (``scorers.examples.breast_cancer_svc()``, kernel_machine scorer, exact), rows
resampled from its training and test rows with 1% multiplicative noise; and the loan pipeline
(``loan_pipeline()``: ColumnTransformer + LogisticRegression, linear scorer) on
``scorers.examples.loan_data(n)``.  Each (model, engine, workers) run writes into a fresh output
directory, so every part is computed.  The time is the whole call of ``explain_table_local`` (worker
start and artifact loading included) or of ``batch.spark.explain_table`` (the Spark session is started
before the clock starts; its start time is reported apart).  Results: a table on stdout and
``benchmarks/out/batch.json``.  Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .common import OUT, log, machine, print_machine, say, section

WORK = OUT / "batch"


def svc_rows(n: int) -> pd.DataFrame:
    from scorers.examples import breast_cancer_svc

    _, x_train, x_test, *_ = breast_cancer_svc()
    rng = np.random.default_rng(0)
    rows = pd.concat([x_train, x_test]).sample(n, replace=True, random_state=0).reset_index(drop=True)
    return rows * (1.0 + 0.01 * rng.standard_normal(rows.shape))


def artifacts() -> dict[str, Path]:
    import scorers
    from scorers.examples import breast_cancer_svc, loan_pipeline

    paths = {"seed SVC": WORK / "svc-artifact", "loan pipeline": WORK / "loan-artifact"}
    if not (paths["seed SVC"] / "manifest.json").is_file():
        model, x_train, *_ = breast_cancer_svc()
        scorers.fit(model, x_train).save(paths["seed SVC"])
    if not (paths["loan pipeline"] / "manifest.json").is_file():
        pipe, x, _ = loan_pipeline()
        scorers.fit(pipe, x).save(paths["loan pipeline"])
    return paths


def run_one(
    engine: str, workers: int, model: str, table: Path, artifact: Path, rows_per_task: int
) -> dict[str, Any]:
    out = WORK / f"out-{engine}-{workers}-{model.replace(' ', '-')}.parquet"
    shutil.rmtree(out, ignore_errors=True)
    load0 = os.getloadavg()[0]
    started = 0.0
    if engine == "local":
        from batch import explain_table_local

        t0 = time.perf_counter()
        result = explain_table_local(
            table, out, artifact, rows_per_task=rows_per_task, workers=workers, progress=False
        )
    else:
        from batch import spark as bs

        s0 = time.perf_counter()
        spark = bs.session(f"local[{workers}]")
        spark.sparkContext.setLogLevel("ERROR")
        started = time.perf_counter() - s0
        try:
            t0 = time.perf_counter()
            result = bs.explain_table(
                spark, table, out, artifact, rows_per_task=rows_per_task, progress=False
            )
        finally:
            spark.stop()
    seconds = time.perf_counter() - t0
    assert result.computed_rows == result.n_rows
    row = {
        "model": model,
        "engine": engine,
        "workers": workers,
        "rows": result.n_rows,
        "parts": result.n_parts,
        "seconds": round(seconds, 2),
        "rows_per_s": round(result.n_rows / seconds, 1),
        "spark_session_start_s": round(started, 2) if engine == "spark" else None,
        "max_additivity_error": result.max_additivity_error,
        "load_avg_1m_before": round(load0, 2),
        "load_avg_1m_after": round(os.getloadavg()[0], 2),
    }
    log(f"{model:14s} {engine:5s} workers={workers}: {row['rows_per_s']} rows/s ({seconds:.1f} s)")
    shutil.rmtree(out, ignore_errors=True)
    return row


def table_text(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| model | rows | engine | rows/s, 1 worker | rows/s, 2 workers | scaling (2 / 1) | load avg (1 min) during |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    keys = sorted({(r["model"], r["engine"]) for r in rows}, key=lambda k: (k[0] != "seed SVC", k[1]))
    for model, engine in keys:
        by_w = {r["workers"]: r for r in rows if r["model"] == model and r["engine"] == engine}
        one, two = by_w.get(1), by_w.get(2)
        ratio = f"{two['rows_per_s'] / one['rows_per_s']:.2f}x" if one and two else "-"
        loads = ", ".join(f"{r['load_avg_1m_before']}-{r['load_avg_1m_after']}" for r in by_w.values())
        n = (one or two or {}).get("rows", 0)
        lines.append(
            f"| {model} | {n:,} | {engine} | {one['rows_per_s'] if one else '-'} | "
            f"{two['rows_per_s'] if two else '-'} | {ratio} | {loads} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.batch", description=__doc__.split("\n\n")[0])
    p.add_argument("--svc-rows", type=int, default=100_000)
    p.add_argument("--loan-rows", type=int, default=100_000)
    p.add_argument("--svc-rows-per-task", type=int, default=1000)
    p.add_argument("--loan-rows-per-task", type=int, default=10_000)
    p.add_argument("--engines", default="local,spark")
    p.add_argument("--workers", default="1,2")
    p.add_argument("--models", default="seed SVC,loan pipeline")
    p.add_argument("--out", default=str(OUT / "batch.json"), help="where the JSON results go")
    args = p.parse_args(argv)
    from scorers.examples import loan_data

    info = machine()
    print_machine(info)
    WORK.mkdir(parents=True, exist_ok=True)
    paths = artifacts()
    tables = {}
    models = [m.strip() for m in args.models.split(",")]
    if "seed SVC" in models:
        tables["seed SVC"] = (WORK / f"svc-{args.svc_rows}.parquet", args.svc_rows_per_task)
        svc_rows(args.svc_rows).to_parquet(tables["seed SVC"][0])
    if "loan pipeline" in models:
        tables["loan pipeline"] = (WORK / f"loan-{args.loan_rows}.parquet", args.loan_rows_per_task)
        loan_data(args.loan_rows, seed=7)[0].to_parquet(tables["loan pipeline"][0])
    rows = []
    section("batch explanations: rows/s by engine and workers")
    for model, (table, per_task) in tables.items():
        for engine in args.engines.split(","):
            for workers in (int(w) for w in args.workers.split(",")):
                rows.append(run_one(engine, workers, model, table, paths[model], per_task))
    text = table_text(rows)
    say(text)
    Path(args.out).write_text(
        json.dumps({"machine": info, "args": vars(args), "runs": rows, "table": text}, indent=1, default=str)
    )
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
