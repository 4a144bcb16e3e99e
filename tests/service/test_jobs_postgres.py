"""Explain jobs on PostgreSQL, against a real PostgreSQL and two real servers sharing it: a job submitted
to one is polled and paged on the other; the server running a job is SIGKILLed mid-way and the other
finishes it with every row exactly once (equal, bit for bit, to one /explain of the same rows); a DELETE
on one stops the work on the other; a SIGTERM hands a running job over at once.

"Mid-way" is read from the database: the job's committed rows are > 0 and < all (slices of 8 rows)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from pg_jobs_helpers import (
    WAIT,
    db,
    delete_stops_the_runner,
    done,
    finished_by_the_other_after,
    jobs_env,
    midway_runner,
    paged_on_the_other,
    rows_of,
    same_as_explain,
    submit,
    throwaway_database,
)
from svc_helpers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]

BIN = Path(sys.executable).parent
N = 1200  # rows of a long job
pytestmark = pytest.mark.slow


class Server:
    def __init__(self, tag: str, url: str, home: Path) -> None:
        self.tag, self.url_db, self.home = tag, url, home
        self.start()

    def start(self) -> None:
        """Start the server (``ready`` waits for it)."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "BENTOML_DO_NOT_TRACK": "true",
            "SHAPSERVE_WORKERS": "1",
            "SHAPSERVE_JOBS_DIR": str(self.home / "jobs"),  # not shared: the jobs are in the database
            **jobs_env(self.url_db, N),
        }
        self.proc = subprocess.Popen(
            [str(BIN / "shapserve"), "serve", self.tag, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=(self.home / "server.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self) -> Server:
        wait_ready(self.url, self.proc, timeout=WAIT)
        return self

    def pids(self) -> set[int]:
        try:
            return {self.proc.pid} | {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.Error:
            return set()

    def kill(self, sig: int) -> None:
        """SIGKILL: the whole server at once (a pod or node lost); SIGTERM: its main process, which stops
        its workers (as Kubernetes signals a container's first process)."""
        if sig == signal.SIGKILL:
            for pid in self.pids():  # its workers and job processes too, whatever their process group
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        else:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        left = self.pids()
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
        for pid in left - {self.proc.pid}:  # nothing of it outlives the module
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def database() -> Iterator[str]:
    with throwaway_database() as url:
        yield url


@pytest.fixture(scope="module")
def servers(
    packaged: dict[str, str], database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for name in ("a", "b"):  # started together, the slow part of this module
            started.append(Server(packaged["svc"], database, tmp_path_factory.mktemp(f"pg-server-{name}")))
        yield [srv.ready() for srv in started]
    finally:
        for srv in started:
            srv.stop()


def _running_on(servers: list[Server], url: str, job_id: str) -> tuple[Server, Server]:
    """Wait until the job is mid-way; (its server, the other)."""
    pid = int(midway_runner(url, job_id, N).rsplit(":", 1)[1])
    owner = next(s for s in servers if pid in s.pids())
    return owner, next(s for s in servers if s is not owner)


def test_a_job_submitted_to_one_server_is_polled_and_paged_on_the_other(
    servers: list[Server], database: str
) -> None:
    a, b = servers
    job_id = paged_on_the_other(a, b, 90, limit=25)
    r = httpx.delete(f"{a.url}/explain_jobs/{job_id}", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert httpx.get(f"{b.url}/explain_jobs/{job_id}", timeout=30).status_code == 404


def test_delete_on_one_server_stops_the_work_on_the_other(servers: list[Server], database: str) -> None:
    delete_stops_the_runner(servers, database, N, lambda job_id: _running_on(servers, database, job_id))


def test_a_killed_server_s_job_is_finished_by_the_other_with_every_row_once(
    servers: list[Server], database: str
) -> None:
    def kill(owner: Server) -> None:
        owner.kill(signal.SIGKILL)
        owner.start()  # a replacement boots meanwhile (the next test needs two servers)

    try:
        finished_by_the_other_after(
            kill, servers, database, N, lambda job_id: _running_on(servers, database, job_id)
        )
    finally:
        for srv in servers:
            srv.ready()


def test_sigterm_hands_a_running_job_over_at_once(servers: list[Server], database: str) -> None:
    rows = rows_of(N)
    job_id = submit(servers[0], rows)
    owner, other = _running_on(servers, database, job_id)
    owner.kill(signal.SIGTERM)
    # handed back at shutdown (a retry the library logged), not waited out until the lease ran out
    with db(database) as c:
        queue_id = c.execute("SELECT queue_id FROM shapserve_jobs WHERE id = %s", (job_id,)).fetchone()
        logged = c.execute(
            "SELECT traceback FROM pgqueuer_log WHERE job_id = %s AND status = 'queued' AND traceback IS NOT NULL",
            queue_id,
        ).fetchall()
    assert any("handed back at shutdown" in json.dumps(t[0]) for t in logged), logged
    status = done(other, job_id)
    assert status["rows_done"] == N
    same_as_explain(other, job_id, rows, limit=500)
