"""The seed's SVC through HTTP: rows/s and error against the full data, beside the AzureML configuration.

``.venv/bin/python -m benchmarks.http_fidelity [--rows 20] [--ref-rows 16] [--only margin] [--no-frontier]``

Packages ``scorers.examples.breast_cancer_svc()`` six ways (margin space: the default,
``max_error=0.05`` and ``max_error=0.01``; probability space, ``--scorer kernel``: the default,
``max_error=0.1``, and 40 calibrated rows with 256 coalitions), serves
each as a real BentoML server (one worker) on 127.0.0.1, and times 1-row requests (interleaved across
the servers and the baseline, so load hits all alike) and 50-row requests.  The baseline is the AzureML
scoring explainer's configuration, ``shap.KernelExplainer(predict_proba, shap.kmeans(x_train, 10))``
with ``nsamples = 2M + 2048``, timed in-process (no HTTP: in its favour).

Error: relative MAE (mean |phi - ref| / mean |ref|, positive class) on test rows against the full-data
value: in margin space the exact ``kernel_machine`` values on all 455 training rows; in probability
space, by default (``--proba-ref permutation``; decision 41), antithetic permutation sampling against all
455 training rows, ``--proba-ref-rounds`` (512) rounds (benchmarks/permutation_reference.py, cached,
minutes per row: independent of the scorers), whose own standard error is printed beside the smallest
error compared.  ``--proba-ref shap``: ``shap.KernelExplainer(predict_proba, all 455 rows)`` with 20000
samples (benchmarks/reference.py, cached, hours; its sampling error is neither removed nor stated);
``--proba-ref anchored`` (a few minutes, for quick runs): the anchored kernel scorer's secant control
variate on a ``--proba-ref-coalitions`` (4096) design against all 455 training rows (``_anchored_reference``;
consistent, but it is the estimator being measured, and 0.034 rel. MAE off the independent reference on
the seed's SVC).  Results: benchmarks/out/http_fidelity.json.

The breakdown of a 1-row request (docs/performance.md): on the first server, the medians of ``GET /livez``
(the server's floor), ``POST /predict`` and ``POST /explain`` of one row, beside the same artifact's
``explain`` in-process (``scorers.load`` from the model store; no error estimate, as the served default),
``--breakdown-calls`` calls each, with their CPU ms per call.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from .common import OUT, load_average, log, say, section, table
from .reference import RefSpec, permutation_reference, reference_values

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = {
    "margin, default": {},
    "margin, max_error=0.05": {"max_error": 0.05},
    "margin, max_error=0.01": {"max_error": 0.01},
    "probability, default": {"scorer": "kernel", "output_space": "probability"},
    "probability, max_error=0.1": {"scorer": "kernel", "output_space": "probability", "max_error": 0.1},
    # shapserve package --scorer kernel --output-space probability --background-size 40 --summary calibrated
    #   --coalitions 256: with the margin's exact anchor, background rows buy more than coalitions
    "probability, 40 rows, 256 coalitions": {
        "scorer": "kernel",
        "output_space": "probability",
        "background_size": 40,
        "summary": "calibrated",
        "n_coalitions": 256,
    },
}


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(
    tag: str, code: Path = ROOT, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    """A server of ``tag`` (one worker) from the tree at ``code``, with ``env`` over this environment."""
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "SHAPSERVE_MODEL": tag,
        "SHAPSERVE_MAX_ROWS": "1000",
        "SHAPSERVE_REQUEST_TIMEOUT": "900",
        "BENTOML_DO_NOT_TRACK": "true",
        **(env or {}),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bentoml", "serve", "service.service:Shapserve", "--port", str(port)],
        cwd=code,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"{tag} did not get ready from {code}")


def _rel(values: np.ndarray, ref: np.ndarray) -> float:
    return float(np.mean(np.abs(values - ref)) / np.mean(np.abs(ref)))


def main(argv: list[str] | None = None) -> int:
    import httpx
    import shap

    from cli.bento import package
    from scorers.examples import breast_cancer_svc

    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=20, help="1-row requests per method")
    p.add_argument("--ref-rows", type=int, default=16, help="test rows with a full-data reference")
    p.add_argument("--only", default="", help="only the configurations whose name starts with this")
    p.add_argument("--no-frontier", action="store_true", help="skip the in-process frontier")
    p.add_argument(
        "--proba-ref",
        choices=["shap", "anchored", "permutation"],
        default="permutation",
        help="probability reference: antithetic permutation sampling with its own standard error "
        "(independent of the scorers; the default), 20,000-sample shap (hours), or the anchored secant "
        "design (minutes; the estimator being measured)",
    )
    p.add_argument("--proba-ref-coalitions", type=int, default=4096, help="design of --proba-ref anchored")
    p.add_argument(
        "--breakdown-calls",
        type=int,
        default=150,
        help="calls of each kind in the 1-row breakdown, cycling through the --rows test rows",
    )
    p.add_argument(
        "--proba-ref-rounds", type=int, default=512, help="antithetic rounds of --proba-ref permutation"
    )
    opts = p.parse_args(argv)
    os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
    warnings.simplefilter("ignore")
    section("the seed's SVC through HTTP: rows/s and error against the full data, side by side")
    say(f"load average at start: {load_average()}")
    model, x_train, x_test, *_ = breast_cancer_svc()
    rows = x_test.to_numpy()
    tags, reports = {}, {}
    for name, kwargs in CONFIGS.items():
        if not name.startswith(opts.only):
            continue
        log(f"packaging: {name}")
        out = package(model, x_train, name="bench-" + name.split(",")[0], progress=_fidelity_lines, **kwargs)
        tags[name], reports[name] = out["model_tag"], out["report"]
    servers = {name: _serve(tag) for name, tag in tags.items()}
    clients = {name: httpx.Client(base_url=url, timeout=600) for name, (_, url) in servers.items()}
    baseline = shap.KernelExplainer(model.predict_proba, shap.kmeans(x_train.to_numpy(), 10))
    nsamples = 2 * rows.shape[1] + 2048

    def ours(name: str, block: np.ndarray) -> np.ndarray:
        r = clients[name].post("/explain", json={"instances": block.tolist()})
        r.raise_for_status()
        return np.asarray(r.json()["local_importance_values"])[:, 1, :]  # positive class

    def base(block: np.ndarray) -> np.ndarray:
        np.random.seed(0)
        return np.asarray(baseline.shap_values(block, nsamples=nsamples, l1_reg="auto", silent=True))[..., 1]

    try:
        for name in clients:  # warm-up
            ours(name, rows[:1])
        log(f"timing {opts.rows} single-row requests per method, interleaved")
        methods = [*clients, "AzureML baseline (in-process)"]
        lat: dict[str, list[float]] = {m: [] for m in methods}
        for i in range(opts.rows):
            for j in range(len(methods)):
                m = methods[(i + j) % len(methods)]
                t0 = time.perf_counter()
                base(rows[i : i + 1]) if m.startswith("AzureML") else ours(m, rows[i : i + 1])
                lat[m].append(time.perf_counter() - t0)
        log("timing 50-row requests")
        batch: dict[str, float] = {}
        for m in methods:
            t0 = time.perf_counter()
            base(rows[:50]) if m.startswith("AzureML") else ours(m, rows[:50])
            batch[m] = 50 / (time.perf_counter() - t0)
        first = next(iter(clients))
        results_breakdown = _breakdown(
            clients[first], tags[first], rows[: opts.rows], servers[first][0].pid, opts.breakdown_calls
        )
        log(f"errors on {opts.ref_rows} test rows")
        ref_rows = rows[: opts.ref_rows]
        import scorers

        exact = scorers.fit(model, x_train, background_size="all", eval_size=5)
        margin_ref = exact.explain(ref_rows).values[:, 1, :]
        any_proba = any(m.startswith("probability") for m in methods)
        proba_ref, ref_info = (
            _proba_reference(opts, model, x_train, ref_rows)
            if any_proba or not opts.no_frontier
            else (margin_ref, {})
        )
        errors = {
            m: _rel(
                base(ref_rows) if m.startswith("AzureML") else ours(m, ref_rows),
                margin_ref if m.startswith("margin") else proba_ref,
            )
            for m in methods
        }
    finally:
        for proc, _ in servers.values():
            proc.terminate()
    b = "AzureML baseline (in-process)"
    b_single = 1 / float(np.median(lat[b]))
    out_rows, results = [], {}
    for m in methods:
        single = 1 / float(np.median(lat[m]))
        stated = reports[m]["fidelity"]["rel_mae_vs_full_data"] if m in reports else None
        results[m] = {
            "p50_ms": 1000 * float(np.median(lat[m])),
            "rows_per_s_single": single,
            "rows_per_s_batch50": batch[m],
            "x_baseline_single": single / b_single,
            "x_baseline_batch": batch[m] / batch[b],
            "rel_mae_vs_full_data": errors[m],
            "stated": stated,
            "error_vs_baseline": errors[m] / errors[b] if not m.startswith("margin") else None,
        }
        r = results[m]
        out_rows.append(
            [
                m,
                f"{r['p50_ms']:.1f}",
                f"{single:.1f}",
                f"{r['x_baseline_single']:.1f}x",
                f"{batch[m]:.1f}",
                f"{r['x_baseline_batch']:.1f}x",
                f"{errors[m]:.4f}",
                "" if stated is None else f"{stated:.4f}",
                "" if r["error_vs_baseline"] is None else f"{r['error_vs_baseline']:.2f}x",
            ]
        )
    say(
        table(
            [
                "method",
                "p50 ms (1 row)",
                "rows/s",
                "vs baseline",
                "rows/s (50-row req.)",
                "vs baseline",
                "rel. MAE vs full data",
                "stated",
                "error vs baseline's",
            ],
            out_rows,
        )
    )
    say(table(["1-row call (first server)", "ms"], [[k, f"{v:.2f}"] for k, v in results_breakdown.items()]))
    results["breakdown"] = results_breakdown
    results["baseline"] = {"rows_per_s_single": b_single, "rel_mae": errors[b]}
    if "rel_se" in ref_info:
        compared = min(errors[m] for m in methods if not m.startswith("margin"))
        ref_info["smallest_error_compared"] = compared
        ref_info["noise_vs_smallest_error"] = ref_info["expected_rel_mae_of_noise"] / compared
        say(
            f"probability reference ({opts.proba_ref}, {ref_info['rounds']} rounds): rel. standard error "
            f"{ref_info['rel_se']:.4f} (mean standard error / mean |value|), its expected rel. MAE "
            f"{ref_info['expected_rel_mae_of_noise']:.4f} = {ref_info['noise_vs_smallest_error']:.3f}x the "
            f"smallest error compared ({compared:.4f}); walks vs predict_proba: {ref_info['path_check']:.1e}"
        )
    results["probability_reference"] = {"kind": opts.proba_ref, **ref_info}
    if opts.no_frontier:
        say(f"load average at end: {load_average()}")
        OUT.mkdir(exist_ok=True)
        (OUT / "http_fidelity.json").write_text(json.dumps(results, indent=2))
        return 0
    log("frontier: calibrated backgrounds of growing size, in-process single-row timings")
    frontier = _frontier(model, x_train, ref_rows, margin_ref, proba_ref)
    results["frontier"] = frontier
    say(
        table(
            [
                "space",
                "background",
                "coalitions",
                "rows/s (1 row, in-process)",
                "rel. MAE vs full data",
                "stated",
            ],
            [
                [
                    f["space"],
                    f"{f['rows']} {f['method']}",
                    f["coalitions"] or "",
                    f"{f['rows_per_s']:.1f}",
                    f"{f['measured']:.4f}",
                    f"{f['stated']:.4f}",
                ]
                for f in frontier
            ],
        )
    )
    _plot(frontier, b_single, errors[b])
    say(f"load average at end: {load_average()}")
    OUT.mkdir(exist_ok=True)
    (OUT / "http_fidelity.json").write_text(json.dumps(results, indent=2))
    return 0


def _fidelity_lines(message: str) -> None:
    """Packaging's progress: only its fidelity measurements (the candidates and the stated error)."""
    if message.startswith("fidelity:"):
        log(message)


def _proba_reference(
    opts: Any, model: Any, x_train: Any, rows: np.ndarray
) -> tuple[np.ndarray, dict[str, Any]]:
    """Positive-class probability values against all training rows (n, M), per ``--proba-ref``, and
    what is known of their own error."""
    if opts.proba_ref == "anchored":
        return _anchored_reference(model, x_train, rows, opts.proba_ref_coalitions), {}
    if opts.proba_ref == "shap":
        spec = RefSpec("full-455", x_train.to_numpy(), None, 20000)
        return reference_values(spec, model, rows, use_replica=True, label="reference")[0][..., 1], {}
    values, se, info = permutation_reference(
        model, x_train.to_numpy(), rows, rounds=opts.proba_ref_rounds, label="permutation reference"
    )
    info["rel_se"] = float(np.mean(se) / np.mean(np.abs(values)))
    # |N(0, se)| has mean se sqrt(2 / pi): the rel. MAE the reference's own noise adds at most
    info["expected_rel_mae_of_noise"] = float(np.sqrt(2 / np.pi) * np.mean(se) / np.mean(np.abs(values)))
    info["max_se"] = float(np.max(se))
    return values, info


def _anchored_reference(model: Any, x_train: Any, rows: np.ndarray, coalitions: int) -> np.ndarray:
    """Probability-space values against all training rows: the anchored kernel scorer with the secant
    control variate on a large design (seed 7, not a served seed), positive class: (n, M)."""
    from dataclasses import replace

    import pandas as pd

    import scorers
    from scorers.kinds.anchor import SECANT
    from scorers.kinds.kernel import KernelScorer
    from scorers.masking import Game

    log(f"probability reference: anchored secant design of {coalitions} coalitions on every training row")
    e = scorers.fit(  # only its context (masking, model function, anchor) is used
        model,
        x_train,
        scorer="kernel",
        output_space="probability",
        n_coalitions=64,
        background_size=5,
        calibrate=False,
        eval_size=2,
    )
    ctx = e.scorer._check_fitted()
    enc = e.masking.encode(e.validate(x_train))
    game = Game(ctx.masking, ctx.game.fn, enc, np.full(len(enc), 1.0 / len(enc)))
    ref = KernelScorer(coalitions, seed=7, anchor=e.scorer.params["anchor"], estimator=SECANT)
    ref.fit(replace(ctx, game=game))
    x = e.masking.encode(e.validate(pd.DataFrame(rows, columns=list(e.features))))
    return np.asarray(ref.shap_values(x)[0][:, 1, :])


def _cpu_seconds(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants so far (Linux ``/proc``)."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue  # a process that ended meanwhile
    return total


def _breakdown(client: Any, tag: str, rows: np.ndarray, server_pid: int, n_calls: int) -> dict[str, float]:
    """Per call of one server's floor, its 1-row predict and explain, and the same explain in-process
    (the served default's work: no error estimate), ``n_calls`` of each cycling through ``rows``: the
    median wall ms, and the CPU ms per call (the server's process tree for HTTP calls, counted in clock
    ticks of 10 ms, hence the many calls; this process for the in-process call).  On a shared machine the
    wall time grows with the load (a runnable worker waits for a core); the CPU time is the work, and the
    differences between calls are where it goes."""
    import bentoml
    import pandas as pd

    import scorers
    from cli.bento import ARTIFACT_DIR
    from scorers.allocator import keep_freed_memory
    from scorers.threads import limit_threads

    limit_threads(1)  # as the server's worker (SHAPSERVE_BLAS_THREADS=1)
    keep_freed_memory()  # as the server's worker (SHAPSERVE_MALLOC_KEEP_BYTES, scorers.allocator)
    explainer = scorers.load(Path(bentoml.models.get(tag).path) / ARTIFACT_DIR, trust_pickle=True)
    names = list(explainer.features)
    calls = {
        "GET /livez (HTTP)": lambda i: client.get("/livez").raise_for_status(),
        "POST /predict (HTTP)": lambda i: client.post(
            "/predict", json={"instances": rows[i : i + 1].tolist()}
        ),
        "POST /explain (HTTP)": lambda i: client.post(
            "/explain", json={"instances": rows[i : i + 1].tolist()}
        ),
        "explain (in-process)": lambda i: explainer.explain(
            pd.DataFrame(rows[i : i + 1], columns=names), error_estimate=False
        ),
    }
    out = {}
    for name, call in calls.items():
        remote = "HTTP" in name
        cpu = (lambda: _cpu_seconds(server_pid)) if remote else time.process_time
        call(0)
        ts = []
        c0 = cpu()
        for k in range(n_calls):
            t0 = time.perf_counter()
            call(k % len(rows))
            ts.append(time.perf_counter() - t0)
        out[name] = 1000 * float(np.median(ts))
        out[name.replace(")", ", CPU ms per call)")] = 1000 * (cpu() - c0) / n_calls
    return out


def _frontier(
    model: Any, x_train: Any, ref_rows: np.ndarray, margin_ref: np.ndarray, proba_ref: np.ndarray
) -> list[dict[str, Any]]:
    import scorers

    out = []
    grid = [("margin", {}, size) for size in (10, 20, 50, 100, 200)]
    grid += [
        ("probability", {"scorer": "kernel", "output_space": "probability", "n_coalitions": n}, size)
        for n in (256, None)
        for size in (10, 20, 40)
    ]
    for space, kwargs, size in grid:
        e = scorers.fit(model, x_train, background_size=size, summary="calibrated", eval_size=5, **kwargs)
        ref = margin_ref if space == "margin" else proba_ref
        e.explain(ref_rows[:1])
        t = [time.perf_counter()]
        for i in range(len(ref_rows)):
            e.explain(ref_rows[i : i + 1])
            t.append(time.perf_counter())
        fid = e.manifest.fidelity
        assert fid is not None
        out.append(
            {
                "space": space,
                "rows": len(e.background.weights),
                "method": e.background.method,
                "coalitions": e.scorer.n_coalitions,
                "rows_per_s": 1 / float(np.median(np.diff(t))),
                "measured": _rel(e.explain(ref_rows).values[:, 1, :], ref),
                "stated": fid.rel_mae_vs_full_data,
            }
        )
        log(f"  {space} {size} rows: {out[-1]['rows_per_s']:.1f} rows/s, rel. MAE {out[-1]['measured']:.4f}")
    return out


def _plot(frontier: list[dict[str, Any]], base_rows_s: float, base_err: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    lines = sorted({(f["space"], f["coalitions"]) for f in frontier}, key=lambda k: (k[0], k[1] or 0))
    for space, coalitions in lines:
        pts = [f for f in frontier if f["space"] == space and f["coalitions"] == coalitions]
        sizes = f"{pts[0]['rows']}..{pts[-1]['rows']} rows"
        label = f"shapserve, {space} (calibrated background, {sizes}"
        label += f", {coalitions} coalitions)" if coalitions else ", exact)"
        ax.plot(
            [f["rows_per_s"] for f in pts],
            [f["measured"] for f in pts],
            marker="o" if space == "margin" else "s",
            label=label,
        )
        for f in pts:
            ax.annotate(str(f["rows"]), (f["rows_per_s"], f["measured"]), fontsize=7, alpha=0.7)
    ax.scatter(
        [base_rows_s],
        [base_err],
        color="black",
        marker="x",
        s=80,
        label="AzureML configuration (probability)",
    )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("rows/s, one row per call (higher is better)")
    ax.set_ylabel("rel. MAE vs full-data SHAP values (lower is better)")
    ax.set_title("The seed's SVC: error against speed")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    OUT.mkdir(exist_ok=True)
    fig.savefig(OUT / "fidelity_frontier.png", dpi=110)


if __name__ == "__main__":
    sys.exit(main())
