"""A rolling restart under load (issue 25, "Load"), bounded for ``make test``: loadtests/rolling_restart.py's
scenario on two real servers sharing a real PostgreSQL (store and explain jobs, recording at 10 %) behind
the readiness-aware balancer of loadtests/balancer.py, with locust's mix through it (5 req/s) from before
the job until 3 s after the restarting server exited. One 400-row job is submitted at the load's first
request; the server running it gets SIGTERM once the job is mid-way and is started again (a new port, as a
new pod; not waited for: the script's longer run waits for it to rejoin, loadtests/README.md).

Asserted: the job finishes with every row once, equal bit for bit to one /explain of its rows
(pg_jobs_helpers.same_as_explain), whether the other server took it over or the draining one finished it
within its drain; the drain (/readyz 503 at SIGTERM, serving on for
SHAPSERVE_DRAIN_SECONDS, then the stop) leaves 0 failed requests through the balancer, inside the drain
window too; every sampled answer is in the store once (the servers' ``shapserve_recording_*`` counters,
the restarted one's read while it drained, against the table's rows) and none was dropped."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pg_serving import ROOT, WAIT, PostgresServer, Server

sys.path.append(str(ROOT / "loadtests"))  # appended: the project's packages stay first on the path
from balancer import Balancer, is_ready  # noqa: E402 - loadtests/ is not a package
from rolling_restart import restart_under_load, settings  # noqa: E402

pytestmark = pytest.mark.slow
JOB_ROWS = 400
DRAIN = 8.0  # SHAPSERVE_DRAIN_SECONDS: longer than a /readyz answer takes on a busy machine (seconds)


@pytest.fixture(scope="module")
def database(pg: PostgresServer) -> str:
    return pg.new_database()


@pytest.fixture(scope="module")
def servers(
    packaged: dict[str, str], database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    env = settings(database, JOB_ROWS, sample_rate=0.1, drain=DRAIN)
    started: list[Server] = []
    try:
        for name in ("a", "b"):  # started together, the slow part of this module
            started.append(Server(packaged["svc"], database, tmp_path_factory.mktemp(f"roll-{name}"), env))
        yield [srv.ready() for srv in started]
    finally:
        for srv in started:  # a replacement still booting serves nothing: killed
            if is_ready(srv.url):
                srv.proc.send_signal(signal.SIGTERM)
                for pid in srv.pids() - {srv.proc.pid}:  # a second SIGTERM to its worker: no drain now
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)  # (its job processes ignore SIGTERM)
            else:
                srv.kill(signal.SIGKILL)
        for srv in started:
            srv.proc.wait(timeout=WAIT)
            srv.stop()


def test_a_rolling_restart_under_load_loses_no_job_row_no_request_and_no_sample(
    servers: list[Server], database: str, tmp_path: Path
) -> None:
    lb = Balancer([s.url for s in servers]).start()
    try:
        report = restart_under_load(
            servers, lb, database, tmp_path, job_rows=JOB_ROWS, rate=5, users=4, lead=0, tail=3, rejoin=False
        )
        (tmp_path / "report.json").write_text(json.dumps(report, indent=1))
    finally:
        lb.stop()
    job, restart = report["job"], report["restart"]
    # every row once, equal to /explain (same_as_explain, in the scenario); run to its end by the other
    # server, or by the draining one when the job ended within its drain (job["taken_over"])
    assert job["status"] == "done" and job["rows_done"] == JOB_ROWS, job
    assert 0 < job["rows_done_at_sigterm"] < JOB_ROWS, job
    assert restart["exit_code"] == 0 and restart["left_balancer_s"] < restart["stop_s"], restart
    sync = report["sync_routes"]
    assert sync["requests"] > 0 and sync["in_drain_window"] > 0, sync
    assert set(sync["statuses"]) == {"200"} and sum(sync["failed"].values()) == 0, sync
    assert report["balancer"]["failed_502"] == 0 and report["balancer"]["no_backend_503"] == 0
    rec = report["recording"]
    assert rec["sampled"] > 0 and rec["dropped"] == 0, rec
    assert rec["stored"] == rec["sampled"] == rec["distinct_request_ids"], rec
