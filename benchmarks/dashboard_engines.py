"""The dashboard's engine, measured: one cohort change on 1,000,000 rows x 30 features (a filter of two
conditions, its count, a 20-bin histogram of one feature by 5 colour groups, a 2x2 confusion matrix) in
numpy, Arrow compute, Polars and DuckDB, best of 7 (ms).  Polars and DuckDB are not project dependencies:
install them into a folder of their own and put it on ENGINES_PATH, for example

    .venv/bin/python -m pip install --target /tmp/engines polars==2.1.0 duckdb==2.0.0
    ENGINES_PATH=/tmp/engines .venv/bin/python -m benchmarks.dashboard_engines

An engine that is not installed is left out.  The choice and the numbers: docs/decisions.md 27.
"""

import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

N, M, B = 1_000_000, 30, 20
rng = np.random.default_rng(0)
X = rng.normal(size=(M, N))
grp = rng.integers(0, 5, N).astype(np.int64)
pred = rng.integers(0, 2, N).astype(np.int64)
truth = rng.integers(0, 2, N).astype(np.int64)
lo, hi = X[2].min(), X[2].max()
w = (hi - lo) / B


def best(f):
    ts = []
    for _ in range(7):
        t = time.perf_counter()
        r = f()
        ts.append(time.perf_counter() - t)
    return min(ts) * 1000, r


def np_run():
    m = (X[0] > 0.1) & (X[1] < 1.0)
    n = int(np.count_nonzero(m))
    b = np.minimum(((X[2][m] - lo) / w).astype(np.int64), B - 1)
    h = np.bincount(grp[m] * B + b, minlength=5 * B)
    cm = np.bincount(truth[m] * 2 + pred[m], minlength=4)
    return n, h.sum(), cm.tolist()


cols = {f"f{j}": X[j] for j in range(M)}
tbl = pa.table({**cols, "grp": grp, "pred": pred, "truth": truth})


def pa_run():
    m = pc.and_(pc.greater(tbl["f0"], 0.1), pc.less(tbl["f1"], 1.0))
    t = tbl.filter(m)
    b = pc.min_element_wise(pc.cast(pc.floor(pc.divide(pc.subtract(t["f2"], lo), w)), pa.int64()), B - 1)
    key = pc.add(pc.multiply(t["grp"], B), b)
    h = np.bincount(key.to_numpy(), minlength=5 * B)
    cm = pc.value_counts(pc.add(pc.multiply(t["truth"], 2), t["pred"]))
    return t.num_rows, h.sum(), cm


out = {"numpy": best(np_run), "pyarrow.compute": best(pa_run)}
if os.environ.get("ENGINES_PATH"):
    sys.path.insert(0, os.environ["ENGINES_PATH"])
try:
    import polars as pl

    df = pl.from_arrow(tbl)

    def pl_run():
        t = df.lazy().filter((pl.col("f0") > 0.1) & (pl.col("f1") < 1.0))
        r = t.select(
            pl.len().alias("n"),
        ).collect()
        h = (
            t.with_columns(b=pl.min_horizontal(((pl.col("f2") - lo) / w).floor().cast(pl.Int64), B - 1))
            .group_by(["grp", "b"])
            .len()
            .collect()
        )
        cm = t.group_by(["truth", "pred"]).len().collect()
        return r["n"][0], h["len"].sum(), cm.height

    out["polars " + pl.__version__] = best(pl_run)
except ImportError as e:
    print("no polars", e)
try:
    import duckdb

    con = duckdb.connect()
    con.register("t", tbl)
    con.execute("SET threads=2")

    def dd_run():
        where = "f0 > 0.1 AND f1 < 1.0"
        n = con.execute(f"SELECT count(*) FROM t WHERE {where}").fetchone()[0]
        h = con.execute(
            f"SELECT grp, least(floor((f2 - {lo}) / {w})::BIGINT, {B - 1}) AS b, count(*) FROM t WHERE {where} GROUP BY ALL"
        ).fetchall()
        cm = con.execute(f"SELECT truth, pred, count(*) FROM t WHERE {where} GROUP BY ALL").fetchall()
        return n, sum(r[2] for r in h), len(cm)

    out["duckdb " + duckdb.__version__] = best(dd_run)
except ImportError as e:
    print("no duckdb", e)
for k, (ms, r) in out.items():
    print(f"{k:24s} {ms:7.1f} ms  {r[:2]}")
