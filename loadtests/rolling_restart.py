"""Load during a rolling restart: two servers share one PostgreSQL (store + explain jobs), recording on,
behind a readiness-aware balancer (loadtests/balancer.py, as a Kubernetes Service's endpoints).

    python loadtests/rolling_restart.py [--model shapserve-demo] [--lead 30] [--tail 30] [--rate 4] [--users 4]
                                        [--job-rows 1500] [--sample-rate 0.1] [--drain 8] [--db URL] [--out DIR]

1. PostgreSQL: ``--db`` (a SQLAlchemy URL of an empty database), else a throw-away server started with
   initdb/pg_ctl as tests/store does (stopped at the end).
2. Two ``shapserve serve MODEL`` processes (A, B; one worker each; tests/service/pg_serving.py) with
   SHAPSERVE_STORE_URL = that database (the jobs follow it), SHAPSERVE_STORE_RECORD_SAMPLE_RATE =
   ``--sample-rate`` and SHAPSERVE_DRAIN_SECONDS = ``--drain``; a balancer in front of both.
3. One locust run (run_load.py, the mix of 1-row /explain, /predict and 10-row /explain, Poisson at
   ``--rate`` req/s) against the balancer; ``--lead`` seconds after its first request, one explain job of
   ``--job-rows`` rows.
4. Once the job has committed a slice, the server running it gets SIGTERM: /readyz turns 503, the balancer
   drops it, it keeps serving for the drain, hands its job back, writes its queued samples and exits; it is
   started again (a new port, as a new pod) and rejoins the balancer once ready (a rolling restart of one
   pod). The DRAIN WINDOW runs from that SIGTERM until it exited. The load ends ``--tail`` seconds after
   the restarted server is ready (SIGTERM to locust, which writes its logs; locust's own bound is a backstop).
5. After the run: the job must finish with every row once, equal bit for bit to one /explain of its rows;
   every request through the balancer is counted by status, before, inside and after the drain window;
   recording: the samples each server took (its /metrics, the restarted one's read during its drain once
   the balancer has dropped it) against the rows in the store, rows written per second, dropped samples.

``restart_under_load`` is the scenario; tests/service/test_rolling_restart.py runs it, bounded, in
``make test``. This script writes report.json and report.md into --out (default
loadtests/out/<time>-rolling-restart/) and exits 1 when a job row is lost or a request failed.
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
for _dir in (HERE, ROOT / "tests", ROOT / "tests" / "service", ROOT / "tests" / "store"):
    if str(_dir) not in sys.path:  # appended: the project's packages stay first on the path
        sys.path.append(str(_dir))

from balancer import Balancer  # noqa: E402
from pg_jobs_helpers import done, job_row, jobs_env, midway_runner, same_as_explain, submit  # noqa: E402
from pg_serving import WAIT, PostgresServer, Server, connect, rows_of, until  # noqa: E402

SYNC = ("/explain", "/predict")  # the synchronous routes the mix calls (locust names start with these)
COUNTERS = ("sampled", "written", "dropped")


def settings(db: str, job_rows: int, sample_rate: float, drain: float) -> dict[str, str]:
    """The servers' settings: jobs on the shared database (short lease, small slices), recording into it."""
    return {
        **jobs_env(db, job_rows),
        "SHAPSERVE_STORE_URL": db,
        "SHAPSERVE_STORE_RECORD_SAMPLE_RATE": str(sample_rate),
        "SHAPSERVE_DRAIN_SECONDS": str(drain),
    }


def recording(url: str) -> dict[str, float]:
    """The server's ``shapserve_recording_{sampled,written,dropped}_total``, summed over their labels."""
    totals = dict.fromkeys(COUNTERS, 0.0)
    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        for kind in COUNTERS:
            if line.startswith(f"shapserve_recording_{kind}_total"):
                totals[kind] += float(line.rsplit(" ", 1)[1])
    return totals


def recorded_rows(db: str) -> tuple[int, int]:
    """(recorded answers in the store, distinct request ids among them)."""
    with connect(db) as c:
        found = c.execute(
            "SELECT count(*), count(DISTINCT request_id) FROM explanations WHERE source = 'recorded'"
        ).fetchone()
    return (0, 0) if found is None else (int(found[0]), int(found[1]))


def requests_of(run_dir: Path) -> list[tuple[float, str, int, str]]:
    """(epoch seconds, name, status, error) of every request locust made in that run."""
    t0 = json.loads((run_dir / "requests.meta.json").read_text())["t0"]
    with (run_dir / "requests.csv").open() as fh:
        return [(t0 + float(r["t"]), r["name"], int(r["status"]), r["error"]) for r in csv.DictReader(fh)]


def start_load(url: str, out: Path, duration: float, rate: float, users: int) -> subprocess.Popen[bytes]:
    """One bounded headless locust run of the mix (run_load.py) against ``url``."""
    cmd = [sys.executable, str(HERE / "run_load.py"), "--host", url, "--scenario", "mix"]
    cmd += ["--users", str(users), "--rate", str(rate), "--duration", f"{duration:g}s", "--out", str(out)]
    out.mkdir(parents=True, exist_ok=True)
    log = (out.parent / f"{out.name}.log").open("w")
    env = {**os.environ, "LOAD_TIMEOUT": "300"}  # a slow answer on a busy machine is an answer, not a failure
    return subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
    )


def sync_counts(run_dir: Path, t_term: float, t_exit: float) -> dict[str, Any]:
    """The synchronous routes' requests by status, and their failures (not 200: a 5xx, a balancer's 502 /
    503, or no answer) before the SIGTERM, inside the drain window (SIGTERM to exit) and after."""
    statuses: dict[str, int] = {}
    failed = {"before": 0, "draining": 0, "after": 0}
    draining = 0
    for t, name, status, _err in requests_of(run_dir):
        if not name.startswith(SYNC):
            continue
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        draining += t_term <= t <= t_exit
        if status != 200:
            failed["before" if t < t_term else "draining" if t <= t_exit else "after"] += 1
    return {
        "requests": sum(statuses.values()),
        "in_drain_window": draining,
        "statuses": statuses,
        "failed": failed,
    }


def stop_load(load: subprocess.Popen[bytes], bound: float) -> None:
    """End the run now: SIGTERM to locust (it stops its users and writes its logs), then run_load.py's
    summary; ``bound`` seconds at most."""
    import psutil

    for child in psutil.Process(load.pid).children():
        child.send_signal(signal.SIGTERM)
    load.wait(timeout=bound)


def restart_under_load(
    servers: list[Server],
    lb: Balancer,
    db: str,
    out: Path,
    *,
    job_rows: int,
    rate: float,
    users: int,
    lead: float,
    tail: float,
    rejoin: bool,
) -> dict[str, Any]:
    """The scenario (module docstring, 3 to 5) on two ready servers behind ``lb``: ``lead`` seconds of load
    before the job is submitted, and ``tail`` seconds after the restarted server exited (``rejoin``: after
    it is ready again); its report. Raises (AssertionError, pytest's failure) when the job loses, repeats
    or changes a row."""
    names = {s.url: n for s, n in zip(servers, "ab", strict=True)}
    loadavg = [round(x, 2) for x in os.getloadavg()]
    bound = lead + 2 * WAIT + tail  # locust's own bound; the run ends at stop_load
    load = start_load(lb.url, out / "load", bound, rate, users)
    try:
        until("the load started", lambda: lb.posted > 0)  # locust is slow to start on a busy machine
        t_load = time.time()
        time.sleep(lead)
        rows = rows_of(job_rows)
        job_id = submit(lb, rows)
        runner = midway_runner(db, job_id, job_rows)
        owner = next(s for s in servers if int(runner.rsplit(":", 1)[1]) in s.pids())
        other = next(s for s in servers if s is not owner)
        old, at_term = owner.url, job_row(db, job_id)
        t_term = time.time()
        owner.proc.send_signal(signal.SIGTERM)  # as Kubernetes signals a container's first process
        until("the balancer dropped the draining server", lambda: lb.idle(old))
        drained = recording(old)  # still serving, and nothing reaches it any more: its samples are all taken
        code = owner.proc.wait(timeout=WAIT)
        t_exit = time.time()
        owner.start()  # a new pod: a new address, in the rotation once ready
        names[owner.url] = names[old] + "'"
        lb.replace(old, owner.url)
        t_ready = None
        if rejoin:
            owner.ready()
            t_ready = time.time()
        time.sleep(tail)
        stop_load(load, WAIT)
        t_end = time.time()
    finally:
        if load.poll() is None:
            load.kill()
    status = done(other, job_id)
    t_done = time.time()
    same_as_explain(other, job_id, rows, limit=max(job_rows // 2, 1))
    at_end = job_row(db, job_id)
    live = [s for s in servers if s is other or lb.forwarded.get(s.url, 0) > 0]

    def settled() -> dict[str, dict[str, float]] | None:  # every sample written or dropped
        got = {names[s.url]: recording(s.url) for s in live}
        return got if all(c["sampled"] == c["written"] + c["dropped"] for c in got.values()) else None

    counters = {names[old]: drained, **until("every sample written or dropped", settled)}
    stored, distinct = recorded_rows(db)
    elapsed = json.loads((out / "load" / "requests.meta.json").read_text())["elapsed_s"]
    return {
        "load": {
            "lead_s": lead,
            "tail_s": tail,
            "rate": rate,
            "users": users,
            "elapsed_s": round(elapsed, 2),
            "loadavg_before": loadavg,
            "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        },
        "timeline_s": {  # seconds after the load's first request
            k: None if t is None else round(t - t_load, 2)
            for k, t in (
                ("sigterm", t_term),
                ("exit", t_exit),
                ("ready", t_ready),
                ("load_end", t_end),
                ("job_done", t_done),
                ("checked", time.time()),
            )
        },
        "job": {
            "rows": job_rows,
            "status": status["status"],
            "rows_done": status["rows_done"],
            "rows_done_at_sigterm": None if at_term is None else at_term[0],
            "taken_over": None not in (at_term, at_end) and at_term[1] != at_end[1],  # type: ignore[index]
            "every_row_once_as_explain": True,  # same_as_explain raised otherwise
        },
        "restart": {
            "server": names[old],
            "exit_code": code,
            "left_balancer_s": round((lb.left_at(old) or t_term) - t_term, 2),
            "stop_s": round(t_exit - t_term, 2),
            "ready_again_s": None if t_ready is None else round(t_ready - t_term, 2),
        },
        "balancer": {
            "forwarded": {names[b]: n for b, n in lb.forwarded.items()},
            "failed_502": sum(lb.failed.values()),
            "no_backend_503": lb.no_backend,
        },
        "sync_routes": sync_counts(out / "load", t_term, t_exit),
        "recording": {
            "counters": counters,
            "sampled": sum(c["sampled"] for c in counters.values()),
            "dropped": sum(c["dropped"] for c in counters.values()),
            "stored": stored,
            "distinct_request_ids": distinct,
            "written_per_s": round(stored / elapsed, 2),
        },
    }


def verdict(report: dict[str, Any]) -> list[str]:
    """What went wrong, if anything: failed requests, a lost job, samples lost or dropped."""
    bad = []
    if report["job"]["status"] != "done" or report["job"]["rows_done"] != report["job"]["rows"]:
        bad.append("the job did not finish with every row")
    if sum(report["sync_routes"]["failed"].values()) or report["balancer"]["failed_502"]:
        bad.append("failed requests through the balancer")
    rec = report["recording"]
    if rec["dropped"] or not rec["sampled"] == rec["stored"] == rec["distinct_request_ids"]:
        bad.append("sampled answers not all written exactly once")
    return bad


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="shapserve-demo")
    ap.add_argument("--lead", type=float, default=30.0, help="seconds of load before the job")
    ap.add_argument(
        "--tail", type=float, default=30.0, help="seconds of load after the restarted server is ready"
    )
    ap.add_argument("--rate", type=float, default=4.0, help="offered req/s through the balancer")
    ap.add_argument("--users", type=int, default=4)
    ap.add_argument("--job-rows", type=int, default=1500)
    ap.add_argument("--sample-rate", type=float, default=0.1)
    ap.add_argument("--drain", type=float, default=8.0, help="SHAPSERVE_DRAIN_SECONDS of the servers")
    ap.add_argument("--db", help="SQLAlchemy URL of an empty PostgreSQL database (default: a throw-away one)")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    out = args.out or ROOT / "loadtests" / "out" / f"{datetime.now():%Y%m%d-%H%M%S}-rolling-restart"
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))

    pg = None if args.db else PostgresServer().start()
    db = args.db or pg.new_database()  # type: ignore[union-attr]
    env = settings(db, args.job_rows, args.sample_rate, args.drain)
    servers: list[Server] = []
    lb = None
    try:
        for name in ("a", "b"):
            (out / f"server-{name}").mkdir(exist_ok=True)
            servers.append(Server(args.model, db, out / f"server-{name}", env))
        lb = Balancer([s.ready().url for s in servers]).start()
        report = restart_under_load(
            servers,
            lb,
            db,
            out,
            job_rows=args.job_rows,
            rate=args.rate,
            users=args.users,
            lead=args.lead,
            tail=args.tail,
            rejoin=True,
        )
    finally:
        if lb is not None:
            lb.stop()
        for s in servers:
            s.stop()
        if pg is not None:
            pg.stop()
    bad = verdict(report)
    (out / "report.json").write_text(json.dumps(report, indent=2))
    lines = [
        f"# rolling restart under load ({args.rate:g} req/s through the balancer)",
        *(f"- {k}: {v}" for k, v in report.items()),
        f"- verdict: {'; '.join(bad) if bad else 'OK'}",
    ]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
