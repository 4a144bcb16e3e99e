"""Small requests beside a large one: do 1-row /explain requests keep their latency?

    python loadtests/beside.py (--host URL | --serve shapserve-demo [--workers 1]) [--rate 8]
        [--phase 20s] [--job-rows 20000] [--big-rows 500] [--out DIR]

1-row /explain requests arrive at ``--rate`` req/s (Poisson, open loop: a slow answer does not delay the
next arrival) through four phases of ``--phase`` seconds each:

1. ``alone``: nothing else.
2. ``beside a job``: one explain job of ``--job-rows`` rows runs (POST /explain_jobs just before the
   phase; its progress is read after it, and it is deleted).
3. ``beside /explain``: one client sends synchronous /explain requests of ``--big-rows`` rows back to
   back (the way to explain many rows before explain jobs).
4. ``alone again``: recovery.

Per phase: requests, p50/p95/p99/max of the 2xx answers (nearest rank over every request), the statuses,
the rows/s of the large work, and (local server) the CPU seconds of the worker and of the job process.
Writes beside.json and beside.md into --out (default loadtests/out/<time>-beside/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psutil

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from load_summary import pct  # noqa: E402
from reliability import LocalServer  # noqa: E402
from run_load import commit, loadavg, machine, seconds, wait_ready  # noqa: E402

PHASES = ("alone", "beside a job", "beside /explain", "alone again")


def sample_rows(host: str) -> list[dict[str, Any]]:
    """The served artifact's stored rows (sample.json, background.json) from the local BentoML store."""
    meta = httpx.get(host + "/metadata", timeout=30).json()
    home = Path(os.environ.get("BENTOML_HOME") or ROOT / ".bentoml")
    art = home / "models" / meta["model"]["name"] / meta["model"]["version"] / "artifact"
    rows: list[dict[str, Any]] = []
    for name in ("sample.json", "background.json"):
        if (art / name).is_file():
            rows += [r for r in json.loads((art / name).read_text()) if isinstance(r, dict)]
    if not rows:
        raise SystemExit(f"no stored rows in {art}: run this on the server's machine, with its BENTOML_HOME")
    return rows


def jitter(row: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    return {k: v * (1 + rng.gauss(0, 0.02)) if isinstance(v, float) else v for k, v in row.items()}


class Cpu:
    """CPU seconds of the server's workers and of their job processes (a local server only)."""

    def __init__(self, host: str) -> None:
        port = int(host.rsplit(":", 1)[1].split("/")[0])
        self.root = None
        for conn in psutil.net_connections("tcp"):
            if conn.status == "LISTEN" and conn.laddr.port == port and conn.pid:
                self.root = psutil.Process(conn.pid)
                while self.root.parent() and "bentoml" in " ".join(self.root.parent().cmdline()):
                    self.root = self.root.parent()
                break

    def now(self) -> dict[str, float]:
        machine = psutil.cpu_times()
        out = {"worker": 0.0, "jobs": 0.0, "machine": machine.user + machine.nice + machine.system}
        if self.root is None:
            return out
        for p in self.root.children(recursive=True):
            try:
                t = p.cpu_times()
                role = (
                    "jobs"
                    if p.nice() > 0
                    else "worker"
                    if "_bentoml_impl.worker" in " ".join(p.cmdline())
                    else None
                )
                if role:
                    out[role] += t.user + t.system
            except psutil.Error:
                pass
        return out


async def small_load(
    client: httpx.AsyncClient, rows: list[dict[str, Any]], rate: float, duration: float, rng: random.Random
) -> list[tuple[int, float]]:
    """(status, ms) of 1-row /explain requests with Poisson arrivals over ``duration`` seconds."""
    results: list[tuple[int, float]] = []

    async def one(row: dict[str, Any]) -> None:
        t0 = time.perf_counter()
        try:
            r = await client.post("/explain", json={"instances": [row]}, timeout=60)
            status = r.status_code
        except httpx.HTTPError:
            status = 0
        results.append((status, (time.perf_counter() - t0) * 1000))

    tasks = []
    start = time.perf_counter()
    at = rng.expovariate(rate)
    while at < duration:
        await asyncio.sleep(max(0.0, start + at - time.perf_counter()))
        tasks.append(asyncio.create_task(one(jitter(rng.choice(rows), rng))))
        at += rng.expovariate(rate)
    await asyncio.gather(*tasks)
    return results


async def big_explains(
    client: httpx.AsyncClient, rows: list[dict[str, Any]], n: int, stop: asyncio.Event
) -> dict[str, Any]:
    """Synchronous /explain requests of ``n`` rows, back to back, until ``stop``."""
    body = {"instances": [rows[i % len(rows)] for i in range(n)]}
    done, statuses, t0 = 0, {}, time.perf_counter()
    while not stop.is_set():
        r = await client.post("/explain", json=body, timeout=120)
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        if r.status_code == 200:
            done += n
    return {
        "rows": done,
        "rows_per_second": round(done / (time.perf_counter() - t0), 1),
        "statuses": statuses,
    }


def summarize(results: list[tuple[int, float]], duration: float) -> dict[str, Any]:
    ok = sorted(ms for status, ms in results if 200 <= status < 300)
    statuses: dict[str, int] = {}
    for status, _ in results:
        statuses[str(status)] = statuses.get(str(status), 0) + 1
    return {
        "requests": len(results),
        "rps": round(len(results) / duration, 2),
        "p50_ms": pct(ok, 50),
        "p95_ms": pct(ok, 95),
        "p99_ms": pct(ok, 99),
        "max_ms": round(ok[-1], 1) if ok else None,
        "statuses": statuses,
    }


async def measure(
    host: str, rate: float, phase: float, job_rows: int, big_rows: int, seed: int
) -> dict[str, Any]:
    rng = random.Random(seed)
    rows = sample_rows(host)
    cpu = Cpu(host)
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=50)
    out: dict[str, Any] = {}
    async with (
        httpx.AsyncClient(base_url=host, limits=limits) as client,
        httpx.AsyncClient(base_url=host) as big,
    ):
        for _ in range(10):  # warm: connections, the first explain
            await client.post("/explain", json={"instances": [rows[0]]}, timeout=60)
        # warm the job process too (started on the first job: the artifact loads there)
        r = await big.post("/explain_jobs", json={"instances": rows[:8]}, timeout=300)
        while (await big.get(r.headers["location"], timeout=30)).json()["status"] in ("queued", "running"):
            await asyncio.sleep(0.2)
        for name in PHASES:
            extra: dict[str, Any] = {}
            job_id = None
            stop = asyncio.Event()
            side = None
            if name == "beside a job":
                body = {"instances": [jitter(rows[i % len(rows)], rng) for i in range(job_rows)]}
                t0 = time.perf_counter()
                r = await big.post("/explain_jobs", json=body, timeout=300)
                extra["job_submit_s"] = round(time.perf_counter() - t0, 2)
                r.raise_for_status()
                job_id = r.json()["id"]
            elif name == "beside /explain":
                side = asyncio.create_task(big_explains(big, rows, big_rows, stop))
            c0, t0 = cpu.now(), time.perf_counter()
            results = await small_load(client, rows, rate, phase, rng)
            wall = time.perf_counter() - t0
            c1 = cpu.now()
            stop.set()
            if side is not None:
                extra["explain"] = await side
            if job_id is not None:
                status = (await big.get(f"/explain_jobs/{job_id}", timeout=30)).json()
                extra["job"] = {k: status[k] for k in ("status", "rows", "rows_done", "rows_per_second")}
                await big.delete(f"/explain_jobs/{job_id}", timeout=30)
            out[name] = {
                **summarize(results, wall),
                "cpu_s": {k: round(c1[k] - c0[k], 1) for k in c1},
                "wall_s": round(wall, 1),
                **extra,
            }
            print(name, json.dumps(out[name]), flush=True)
    return out


def markdown(result: dict[str, Any]) -> str:
    a = result["args"]
    lines = [
        f"# Small requests beside a large one ({result['when']}, commit {result['commit']})",
        "",
        f"1-row /explain at {a['rate']} req/s (Poisson), {a['phase']} s per phase; job: {a['job_rows']} rows; "
        f"synchronous /explain: {a['big_rows']} rows back to back. Machine: {result['machine']['summary']}; "
        f"load average before {result['loadavg_before']}, after {result['loadavg_after']}.",
        "",
        "| phase | requests | p50 ms | p95 ms | p99 ms | max ms | statuses | large work | CPU s worker / jobs / machine |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, p in result["phases"].items():
        big = ""
        if "job" in p:
            big = f"job {p['job']['rows_done']} rows, {p['job']['rows_per_second']} rows/s"
        elif "explain" in p:
            big = f"/explain {p['explain']['rows']} rows, {p['explain']['rows_per_second']} rows/s {p['explain']['statuses']}"

        def f(v: Any) -> str:
            return "-" if v is None else f"{v:.1f}"

        lines.append(
            f"| {name} | {p['requests']} | {f(p['p50_ms'])} | {f(p['p95_ms'])} | {f(p['p99_ms'])} | {f(p['max_ms'])} "
            f"| {p['statuses']} | {big} | {p['cpu_s']['worker']} / {p['cpu_s']['jobs']} / {p['cpu_s']['machine']} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    target = ap.add_mutually_exclusive_group(required=True)
    target.add_argument("--host", help="a running server (its machine: the rows come from its BentoML store)")
    target.add_argument("--serve", metavar="MODEL", help="start `shapserve serve MODEL` on a free port")
    ap.add_argument("--workers", default="1")
    ap.add_argument("--rate", type=float, default=8.0)
    ap.add_argument("--phase", type=seconds, default=20.0)
    ap.add_argument("--job-rows", type=int, default=20_000)
    ap.add_argument("--big-rows", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path)
    a = ap.parse_args(argv)
    out = a.out or HERE / "out" / f"{datetime.now():%Y%m%d-%H%M%S}-beside"
    out.mkdir(parents=True, exist_ok=True)
    server = None
    if a.serve:
        os.environ.setdefault("SHAPSERVE_JOBS_DIR", str(out / "jobs"))
        server = LocalServer(a.serve, a.workers, None, out / "server.log")
        host = server.host
    else:
        host = a.host.rstrip("/")
    try:
        wait_ready(host, 180)
        before = loadavg()
        phases = asyncio.run(measure(host, a.rate, a.phase, a.job_rows, a.big_rows, a.seed))
        result = {
            "when": f"{datetime.now():%Y-%m-%d %H:%M}",
            "commit": commit(),
            "machine": machine(),
            "loadavg_before": before,
            "loadavg_after": loadavg(),
            "args": {k: v for k, v in vars(a).items() if k != "out"},
            "phases": phases,
        }
    finally:
        if server is not None:
            server.stop()
    (out / "beside.json").write_text(json.dumps(result, indent=1))
    (out / "beside.md").write_text(markdown(result))
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
