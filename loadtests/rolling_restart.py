"""Load during a rolling restart: two servers share one PostgreSQL (store + explain jobs), recording on.

    python loadtests/rolling_restart.py [--model shapserve-demo] [--duration 90] [--rate 3] [--job-rows 1500]
                                        [--sample-rate 0.1] [--db URL] [--out DIR]

1. PostgreSQL: ``--db`` (a SQLAlchemy URL of an empty database), else a throw-away server started with
   initdb/pg_ctl as tests/store does (stopped at the end).
2. Two ``shapserve serve MODEL`` processes (A, B; one worker each) with SHAPSERVE_STORE_URL = that
   database (the jobs follow it) and SHAPSERVE_STORE_RECORD_SAMPLE_RATE = ``--sample-rate``.
3. One explain job of ``--job-rows`` rows is submitted to A; one bounded locust run (run_load.py, the mix
   of 1-row /explain, /predict and 10-row /explain, Poisson at ``--rate`` req/s) starts against each server.
4. At a third of the run (or later, once the job has committed a slice), the server running it gets SIGTERM (its job is handed back), exits, and is
   started again on the same port (a rolling restart of one pod); the DRAIN WINDOW is from that SIGTERM
   until it answers /readyz again.
5. After the runs: the job must finish on any server with every row once (rows_done == rows, all pages
   read, no row twice); 5xx and connection errors on the synchronous routes are counted inside and
   outside the drain window (outside: of the other server at any time, of the restarted one outside it;
   inside: split into those before it exited, "draining", and while it was down and booting, "down").
   Recording: explanations stored per second of load, and any /metrics series about recording.

Writes report.json and report.md into --out (default loadtests/out/<time>-rolling-restart/); exit 1 when
a job row is lost or duplicated or a 5xx / connection error falls outside the drain window.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT / "tests" / "store"))  # the throw-away PostgreSQL of the store tests

from reliability import free_port  # noqa: E402
from run_load import wait_ready  # noqa: E402

SYNC = ("/explain", "/predict")  # the synchronous routes the mix calls (locust names start with these)


class Server:
    """``shapserve serve MODEL`` on a fixed loopback port; restartable on the same port."""

    def __init__(self, name: str, model: str, env: dict[str, str], out: Path) -> None:
        self.name, self.model, self.env, self.out = name, model, env, out
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        cmd = [str(Path(sys.executable).parent / "shapserve"), "serve", self.model]
        cmd += ["--port", str(self.port), "--host", "127.0.0.1"]
        log = (self.out / f"server-{self.name}.log").open("a")
        self.proc = subprocess.Popen(cmd, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    def pids(self) -> set[int]:
        import psutil

        if self.proc is None:
            return set()
        try:
            return {self.proc.pid} | {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.Error:
            return set()

    def stop(self, timeout: float = 90) -> int:
        """SIGTERM to the main process (as Kubernetes signals a container); its exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()


def metrics_about_recording(url: str) -> dict[str, float]:
    """Every /metrics sample whose name mentions recording (e.g. dropped samples), summed by name."""
    out: dict[str, float] = {}
    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        if line.startswith("#") or "record" not in line.split("{")[0].split(" ")[0]:
            continue
        name = line.split("{")[0].split(" ")[0]
        out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def requests_of(run_dir: Path) -> list[tuple[float, str, int, str]]:
    """(epoch seconds, name, status, error) of every request locust made in that run."""
    t0 = json.loads((run_dir / "requests.meta.json").read_text())["t0"]
    with (run_dir / "requests.csv").open() as fh:
        return [(t0 + float(r["t"]), r["name"], int(r["status"]), r["error"]) for r in csv.DictReader(fh)]


def running(db: str, job_id: str, servers: list[Server]) -> tuple[Server, int]:
    """The server whose process runs the job once it has committed a slice (runner = host:pid in the
    database), and its rows done."""
    import psycopg

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        with psycopg.connect(plain(db)) as c:
            found = c.execute(
                "SELECT runner, rows_done FROM shapserve_jobs WHERE id = %s", (job_id,)
            ).fetchone()
        if found and found[0] and found[1] > 0:
            pid = int(found[0].rsplit(":", 1)[1])
            for s in servers:
                if pid in s.pids():
                    return s, int(found[1])
        time.sleep(0.5)
    raise SystemExit(f"rolling_restart: job {job_id} is not running on either server")


def plain(db: str) -> str:
    """A SQLAlchemy URL (postgresql+psycopg://...) as libpq takes it."""
    return "postgresql://" + db.split("://", 1)[1]


def job_rows(url: str, job_id: str) -> tuple[dict[str, Any], int]:
    """The finished job's status and the number of result rows over all its pages."""
    deadline = time.monotonic() + 600
    while True:
        status = httpx.get(f"{url}/explain_jobs/{job_id}?limit=1", timeout=30).json()
        if status["status"] not in ("queued", "running") or time.monotonic() > deadline:
            break
        time.sleep(1)
    n, offset = 0, 0
    while status["status"] == "done" and offset is not None:
        page = httpx.get(f"{url}/explain_jobs/{job_id}?offset={offset}&limit=500", timeout=60).json()
        n += len(page["result"]["predictions"])
        offset = page["page"]["next_offset"]
    return status, n


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="shapserve-demo")
    ap.add_argument("--duration", type=float, default=90.0, help="seconds of load")
    ap.add_argument("--rate", type=float, default=3.0, help="offered req/s against each server")
    ap.add_argument("--job-rows", type=int, default=1500)
    ap.add_argument("--sample-rate", type=float, default=0.1)
    ap.add_argument("--db", help="SQLAlchemy URL of an empty PostgreSQL database (default: a throw-away one)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    out = args.out or ROOT / "loadtests" / "out" / f"{datetime.now():%Y%m%d-%H%M%S}-rolling-restart"
    out.mkdir(parents=True, exist_ok=True)

    pg = None
    db = args.db
    if db is None:
        from pg_server import PostgresServer

        pg = PostgresServer().start()
        db = pg.new_database()
    env = {
        **os.environ,
        "BENTOML_HOME": os.environ.get("BENTOML_HOME", str(ROOT / ".bentoml")),
        "BENTOML_DO_NOT_TRACK": "true",
        "SHAPSERVE_WORKERS": "1",
        "SHAPSERVE_STORE_URL": db,
        "SHAPSERVE_STORE_RECORD_SAMPLE_RATE": str(args.sample_rate),
        "SHAPSERVE_JOB_SLICE_ROWS": "25",
        "SHAPSERVE_JOB_LEASE": "10",
    }
    servers = [Server(n, args.model, env, out) for n in ("a", "b")]
    loads: list[subprocess.Popen[bytes]] = []
    report: dict[str, Any] = {"duration_s": args.duration, "rate_per_server": args.rate}
    try:
        for s in servers:
            s.start()
        for s in servers:
            wait_ready(s.url, 300)
        sample = json.loads((ROOT / "examples" / "breast_cancer_request.json").read_text())["instances"]
        rows = [
            [v + (i // len(sample)) * 1e-3 for v in sample[i % len(sample)]] for i in range(args.job_rows)
        ]
        r = httpx.post(servers[0].url + "/explain_jobs", json={"instances": rows, "top_k": 3}, timeout=300)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        for s in servers:
            cmd = [sys.executable, str(HERE / "run_load.py"), "--host", s.url, "--scenario", "mix"]
            cmd += ["--users", "4", "--rate", str(args.rate), "--duration", f"{args.duration:g}s"]
            cmd += ["--out", str(out / f"load-{s.name}")]
            loads.append(
                subprocess.Popen(cmd, stdout=(out / f"load-{s.name}.log").open("w"), stderr=subprocess.STDOUT)
            )
        time.sleep(args.duration / 3)
        restarting, rows_done_at_term = running(db, job_id, servers)  # mid-way: a slice committed
        t_term = time.time()
        code = restarting.stop()
        t_exit = time.time()
        restarting.start()
        wait_ready(restarting.url, 300)
        t_ready = time.time()
        for p in loads:
            p.wait(timeout=args.duration + 300)
        status, n_result = job_rows(servers[1].url, job_id)
        window = (t_term, t_ready)
        counts: dict[str, dict[str, int]] = {}
        for s in servers:
            c = counts.setdefault(
                s.name, {"requests": 0, "bad_draining": 0, "bad_down": 0, "bad_outside_drain": 0}
            )
            for t, name, st, _err in requests_of(out / f"load-{s.name}"):
                if not name.startswith(SYNC):
                    continue
                c["requests"] += 1
                if st == 0 or st >= 500:
                    inside = s is restarting and window[0] <= t <= window[1]
                    where = "bad_draining" if t < t_exit else "bad_down"  # SIGTERM..exit, exit..ready
                    c[where if inside else "bad_outside_drain"] += 1
        import psycopg

        with psycopg.connect(plain(db)) as c:
            recorded = c.execute("SELECT count(*) FROM explanations WHERE source = 'recorded'").fetchone()[0]
        report.update(
            job={
                "rows": args.job_rows,
                "status": status["status"],
                "rows_done": status.get("rows_done"),
                "result_rows": n_result,
                "rows_done_at_sigterm": rows_done_at_term,
                "lost": 0 if status["status"] == "done" and n_result == args.job_rows else 1,
            },
            restart={
                "server": restarting.name,
                "exit_code": code,
                "stop_s": round(t_exit - t_term, 2),
                "drain_window_s": round(t_ready - t_term, 2),
            },
            sync_routes=counts,
            recording={
                "sample_rate": args.sample_rate,
                "recorded": int(recorded),
                "recorded_per_s": round(recorded / args.duration, 2),
                "metrics": {s.name: metrics_about_recording(s.url) or "none exported" for s in servers},
            },
        )
    finally:
        for p in loads:
            if p.poll() is None:
                p.kill()
        for s in servers:
            if s.proc is not None and s.proc.poll() is None:
                s.stop()
        if pg is not None:
            pg.stop()
    (out / "report.json").write_text(json.dumps(report, indent=2))
    bad = sum(c["bad_outside_drain"] for c in report["sync_routes"].values()) + report["job"]["lost"]
    lines = [
        f"# rolling restart under load ({args.duration:g} s, {args.rate:g} req/s per server)",
        f"- job: {report['job']}",
        f"- restart: {report['restart']}",
        *(f"- sync routes on {k}: {v}" for k, v in report["sync_routes"].items()),
        f"- recording: {report['recording']}",
        f"- verdict: {'OK' if not bad else 'FAILED'}",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
