"""Counterfactuals, ours vs dice-ml (method "random", its default), on the same models and rows.

    .venv/bin/python -m benchmarks.counterfactuals            # 20 rows per model, count 3
    .venv/bin/python -m benchmarks.counterfactuals --rows 5   # a quicker run
    .venv/bin/python -m benchmarks.counterfactuals --only http  # only the HTTP phase (a quick re-run)

Models: the seed SVC (``scorers.examples.breast_cancer_svc()``) and the loan one-hot pipeline with a
GradientBoostingClassifier (``scorers.examples.loan_pipeline("gb")``); rows: the SVC's test rows, and
fresh loan rows (``loan_data(seed=1)``, complete rows: dice-ml takes no missing value); target: the class
the model does not predict.  Each method is timed one row per call, in-process.

"p95 per row over HTTP" means sequential 1-row requests: one client, one request at a time, each a
``POST /counterfactuals`` of one row to a real server (``_http``); the load average before and after
that phase is printed with it.

Measured here, for both methods alike (never a method's own claim):
- validity: returned counterfactuals the model's ``predict`` puts in the target class, and rows with one;
- proximity: L1 distance with numbers divided by the training rows' MAD, plus 1 per changed category;
- sparsity: features changed; diversity: mean pairwise distance (same metric) among a row's answers;
- plausibility: every changed number within the training rows' [min, max], every changed category a
  training one.
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from itertools import combinations
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .common import OUT, log, machine, print_machine, say

COUNT = 3


def _models() -> dict[str, tuple[Any, pd.DataFrame, pd.DataFrame]]:
    """name -> (model, training rows, query rows)."""
    from scorers.examples import breast_cancer_svc, loan_data, loan_pipeline

    svc, x_train, x_test, _, _ = breast_cancer_svc()
    pipe, x, _ = loan_pipeline("gb")
    fresh, _ = loan_data(n=400, seed=1)
    return {
        "seed SVC": (svc, x_train, x_test),
        "loan GB pipeline": (pipe, x, fresh.dropna().reset_index(drop=True)),
    }


def _explainer(name: str, model: Any, x: pd.DataFrame) -> Any:
    import scorers

    path = OUT / "cache" / f"counterfactuals-{name.replace(' ', '-')}"
    if path.exists():
        return scorers.load(path, trust_pickle=True)
    log(f"fitting the explainer of {name} (cached in {path})")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, x, eval_size=50)
    explainer.save(path)
    return explainer


class Metric:
    """Distances between rows as DiCE defines proximity: numbers / MAD of the training rows, categories 0/1."""

    def __init__(self, x: pd.DataFrame) -> None:
        self.names = list(x.columns)
        self.numeric = [n for n in self.names if pd.api.types.is_numeric_dtype(x[n])]
        self.mad = {}
        for n in self.numeric:
            col = x[n].dropna().to_numpy(dtype=float)
            mad = float(np.median(np.abs(col - np.median(col))))
            self.mad[n] = mad if mad > 0 else 1.0
        self.low = {n: float(x[n].min()) for n in self.numeric}
        self.high = {n: float(x[n].max()) for n in self.numeric}
        self.cats = {n: set(x[n].dropna()) for n in self.names if n not in self.numeric}

    def deltas(self, a: pd.Series, b: pd.Series) -> dict[str, float]:
        out = {}
        for n in self.names:
            if n in self.numeric:
                out[n] = abs(float(a[n]) - float(b[n])) / self.mad[n]
                out[n] = out[n] if out[n] > 1e-9 else 0.0
            else:
                out[n] = float(a[n] != b[n])
        return out

    def distance(self, a: pd.Series, b: pd.Series) -> float:
        return sum(self.deltas(a, b).values())

    def plausible(self, row: pd.Series, c: pd.Series) -> bool:
        """Every changed value within the training rows' range or categories (an unchanged value is the
        row's own, plausible or not)."""
        changed = [n for n, d in self.deltas(row, c).items() if d > 0]
        nums = all(self.low[n] - 1e-9 <= float(c[n]) <= self.high[n] + 1e-9 for n in changed if n in self.mad)
        return nums and all(c[n] in self.cats[n] for n in changed if n in self.cats)


def _ours(explainer: Any, row: pd.DataFrame, target: Any) -> pd.DataFrame:
    return explainer.counterfactuals(row, target, count=COUNT).rows[0].frame


def _dice(model: Any, x: pd.DataFrame, y: np.ndarray) -> Any:
    import dice_ml

    numeric = [n for n in x.columns if pd.api.types.is_numeric_dtype(x[n])]
    data = x.dropna().assign(_y=y[x.notna().all(axis=1).to_numpy()])
    d = dice_ml.Data(dataframe=data, continuous_features=numeric, outcome_name="_y")
    m = dice_ml.Model(model=model, backend="sklearn")
    return dice_ml.Dice(d, m, method="random")


def _dice_one(dice: Any, row: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    out = dice.generate_counterfactuals(
        row, total_CFs=COUNT, desired_class="opposite", verbose=False, random_seed=0
    )
    frame = out.cf_examples_list[0].final_cfs_df
    return pd.DataFrame(columns=cols) if frame is None else frame[cols].reset_index(drop=True)


def _score(
    metric: Metric,
    model: Any,
    rows: pd.DataFrame,
    targets: list[Any],
    found: list[pd.DataFrame],
    times: list[float],
) -> dict[str, Any]:
    n_cf = valid = plausible = 0
    rows_valid, prox, spars, divs = 0, [], [], []
    for i, cfs in enumerate(found):
        if len(cfs) == 0:
            continue
        ok = _predict(model, cfs) == targets[i]
        n_cf += len(cfs)
        valid += int(ok.sum())
        rows_valid += int(ok.any())
        for _, c in cfs.iterrows():
            d = metric.deltas(rows.iloc[i], c)
            prox.append(sum(d.values()))
            spars.append(sum(v > 0 for v in d.values()))
            plausible += metric.plausible(rows.iloc[i], c)
        if len(cfs) > 1:
            divs.append(
                np.mean([metric.distance(a, b) for (_, a), (_, b) in combinations(cfs.iterrows(), 2)])
            )
    t = np.array(times) * 1000
    return {
        "rows with a valid cf": f"{rows_valid}/{len(found)}",
        "valid cfs": f"{valid}/{n_cf}",
        "proximity": float(np.mean(prox)) if prox else float("nan"),
        "sparsity": float(np.mean(spars)) if spars else float("nan"),
        "diversity": float(np.mean(divs)) if divs else float("nan"),
        "plausible": f"{plausible}/{n_cf}",
        "p50 ms": float(np.percentile(t, 50)),
        "p95 ms": float(np.percentile(t, 95)),
    }


def _http(name: str, rows: pd.DataFrame, targets: list[Any]) -> dict[str, Any]:
    """1-row ``POST /counterfactuals`` to a real BentoML server (one worker on 127.0.0.1) serving the
    cached artifact: validity as the server answers it, p50/p95 of the wall time per request (sequential:
    one client, one request at a time), and the CPU the server's process tree spent per request (less
    sensitive to the machine's load than the wall time)."""
    import httpx

    from cli.bento import register

    from .http_fidelity import _cpu_seconds, _serve

    tag = register(OUT / "cache" / f"counterfactuals-{name.replace(' ', '-')}", name="bench-counterfactuals")
    proc, url = _serve(tag)
    before = os.getloadavg()[0]
    try:
        times, found = [], 0
        with httpx.Client(base_url=url, timeout=120) as client:
            body = {"instances": rows.iloc[[0]].to_dict("records"), "target": targets[0], "count": COUNT}
            client.post("/counterfactuals", json=body).raise_for_status()  # the index is built on first use
            cpu = _cpu_seconds(proc.pid)
            for i in range(len(rows)):
                body = {"instances": rows.iloc[[i]].to_dict("records"), "target": targets[i], "count": COUNT}
                t = time.perf_counter()
                resp = client.post("/counterfactuals", json=body)
                times.append(time.perf_counter() - t)
                resp.raise_for_status()
                found += resp.json()["rows"][0]["found"] > 0
            cpu = _cpu_seconds(proc.pid) - cpu
    finally:
        proc.terminate()  # SIGTERM: the server stops its workers too (SIGKILL would orphan them)
        proc.wait(timeout=120)
    t_ms = np.array(times) * 1000
    return {
        "rows with a valid cf": f"{found}/{len(rows)}",
        "load before / after": f"{before:.1f} / {os.getloadavg()[0]:.1f}",
        "p50 ms": float(np.percentile(t_ms, 50)),
        "p95 ms": float(np.percentile(t_ms, 95)),
        "server CPU ms per request": cpu / len(rows) * 1000,
    }


def _batched(explainer: Any, rows: pd.DataFrame, targets: list[Any]) -> dict[str, Any]:
    """Rows grouped by target, each group one call: the time per row (p50/p95 over 3 repeats)."""
    per_row = []
    for _ in range(3):
        t = time.perf_counter()
        for target in set(targets):
            picked = [i for i, v in enumerate(targets) if v == target]
            explainer.counterfactuals(rows.iloc[picked], target, count=COUNT)
        per_row.append((time.perf_counter() - t) / len(rows) * 1000)
    return {"p50 ms": float(np.percentile(per_row, 50)), "p95 ms": float(np.percentile(per_row, 95))}


def _predict(model: Any, frame: pd.DataFrame) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if type(model).__name__ == "SVC":  # fitted on an array (the seed's)
            return np.asarray(model.predict(frame.to_numpy(dtype=float)))
        return np.asarray(model.predict(frame))


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=20)
    parser.add_argument(
        "--http", action="store_true", help="also time ours through a real server (1-row requests)"
    )
    parser.add_argument(
        "--only",
        choices=("http", "ours"),
        help="http: only the HTTP phase; ours: only ours in-process (quality and time, no dice-ml)",
    )
    args = parser.parse_args(argv)
    print_machine(machine())
    results: dict[str, Any] = {}
    for name, (model, x, queries) in _models().items():
        explainer = _explainer(name, model, x)
        rows = queries.iloc[: args.rows].reset_index(drop=True)
        pred = _predict(model, rows)
        classes = list(model.classes_)
        targets = [classes[1] if p == classes[0] else classes[0] for p in pred]
        metric = Metric(x)
        if args.only == "http":
            results[f"{name} / ours over HTTP"] = _http(name, rows, targets)
            log(f"{name} / ours over HTTP: {results[f'{name} / ours over HTTP']}")
            continue
        methods = ("ours",) if args.only == "ours" else ("ours", "dice-ml random")
        if "dice-ml random" in methods:
            dice = _dice(model, x, np.array([classes.index(v) for v in _predict(model, x)]))
        _ours(explainer, rows.iloc[[0]], targets[0])  # the index is built on first use
        for method in methods:
            found, times = [], []
            for i in range(len(rows)):
                row = rows.iloc[[i]]
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    if method == "ours":
                        out, t = _timed(_ours, explainer, row, targets[i])
                    else:
                        out, t = _timed(_dice_one, dice, row, list(x.columns))
                found.append(out)
                times.append(t)
            results[f"{name} / {method}"] = _score(metric, model, rows, targets, found, times)
            log(f"{name} / {method}: {results[f'{name} / {method}']}")
        if args.http and args.only is None:
            results[f"{name} / ours over HTTP"] = _http(name, rows, targets)
            log(f"{name} / ours over HTTP: {results[f'{name} / ours over HTTP']}")
        # ours with every row in one call (one preprocessing call per step for all rows): time per row
        batch = _batched(explainer, rows, targets)
        results[f"{name} / ours, {len(rows)} rows per call"] = batch
        log(f"{name} / ours batched: {batch}")
    _table(results, args.rows)
    OUT.mkdir(exist_ok=True)
    Path(OUT / f"counterfactuals{'-' + args.only if args.only else ''}.json").write_text(
        json.dumps(results, indent=2)
    )


def _table(results: dict[str, Any], n: int) -> None:
    cols = list(dict.fromkeys(c for r in results.values() for c in r))
    say(f"\n{n} rows per model, count {COUNT}, one row per call unless said, in-process")
    say("| model / method | " + " | ".join(cols) + " |")
    say("|---" * (len(cols) + 1) + "|")
    for key, r in results.items():
        cells = [f"{r[c]:.2f}" if isinstance(r.get(c), float) else str(r.get(c, "")) for c in cols]
        say(f"| {key} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
