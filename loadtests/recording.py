"""Recording under load (issue 25): a bounded locust run against a server that records a share of its
/explain answers into a throw-away PostgreSQL, then the recording counters and the table after a SIGTERM.

    .venv/bin/python loadtests/recording.py --model test-svc --rate 0.1 --users 8 --duration 60s

Starts PostgreSQL (tests/store/pg_server.py: initdb + pg_ctl in a temporary directory) and
``shapserve serve MODEL`` with ``SHAPSERVE_STORE_URL`` on it, runs ``loadtests/run_load.py`` (scenario
``explain1``), reads ``shapserve_recording_*`` from /metrics, stops the server with SIGTERM (its workers
write their queues), counts the recorded rows, stops everything and prints one markdown table row.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psycopg

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT / "tests" / "store"))
from pg_server import PostgresServer, free_port  # noqa: E402 - the tests' throw-away PostgreSQL


def counters(url: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in httpx.get(url + "/metrics", timeout=30).text.splitlines():
        if line.startswith("shapserve_recording_"):
            name = line.split("{", 1)[0]
            if 'reason="' in line:
                name += "[" + line.split('reason="', 1)[1].split('"', 1)[0] + "]"
            out[name] = out.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="shapserve-demo")
    ap.add_argument("--rate", type=float, default=0.1, help="SHAPSERVE_STORE_RECORD_SAMPLE_RATE")
    ap.add_argument("--users", type=int, default=8)
    ap.add_argument("--duration", default="60s")
    ap.add_argument("--workers", default="2")
    args = ap.parse_args()
    pg = PostgresServer().start()
    server = None
    try:
        db = pg.new_database()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "SHAPSERVE_STORE_URL": db,
            "SHAPSERVE_STORE_RECORD_SAMPLE_RATE": str(args.rate),
            "SHAPSERVE_WORKERS": args.workers,
            "BENTOML_DO_NOT_TRACK": "true",
        }
        log = Path(tempfile.mkdtemp(prefix="shapserve-rec-load-")) / "server.log"
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "shapserve"), "serve", args.model, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        out = Path(tempfile.mkdtemp(prefix="shapserve-rec-load-out-"))
        load = subprocess.run(
            [sys.executable, str(HERE / "run_load.py"), "--host", url, "--scenario", "explain1",
             "--users", str(args.users), "--duration", args.duration, "--out", str(out), "--ready-timeout", "300"],
            cwd=ROOT,
        )  # fmt: skip
        before = counters(url)
        t0 = time.monotonic()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=120)
        drain = time.monotonic() - t0
        with psycopg.connect("postgresql://" + db.split("://", 1)[1]) as c:
            rows = c.execute("SELECT count(*) FROM explanations WHERE source = 'recorded'").fetchone()
        summary = json.loads((out / "summary.json").read_text())
        print(json.dumps({"metrics_before_sigterm": before, "rows_after_sigterm": rows[0],
                          "sigterm_to_exit_s": round(drain, 1), "server_exit": server.returncode,
                          "load_exit": load.returncode, "summary_json": str(out / "summary.json")}, indent=1))  # fmt: skip
        print(json.dumps(summary.get("overall", summary), indent=1)[:3000])
        return 0
    finally:
        if server is not None and server.poll() is None:
            server.kill()
        pg.stop()


if __name__ == "__main__":
    raise SystemExit(main())
