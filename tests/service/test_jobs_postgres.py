"""Explain jobs on PostgreSQL, against a real PostgreSQL and two real servers sharing it: a job submitted
to one is polled and paged on the other; the server running a job is SIGKILLed mid-way and the other
finishes it with every row exactly once (equal, bit for bit, to one /explain of the same rows); a DELETE
on one stops the work on the other; a SIGTERM hands a running job over at once.

"Mid-way" is read from the database: the job's committed rows are > 0 and < all (slices of 8 rows)."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator

import httpx
import pytest
from pg_jobs_helpers import done, job_row, same_as_explain, submit
from pg_serving import PostgresServer, Server, connect, rows_of, until

LEASE = 3  # SHAPSERVE_JOB_LEASE of the servers, seconds
SLICE = 8  # SHAPSERVE_JOB_SLICE_ROWS: many slices, so that a job is caught half-way
N = 1200  # rows of a long job
ENV = {
    "SHAPSERVE_JOB_LEASE": str(LEASE),
    "SHAPSERVE_JOB_SLICE_ROWS": str(SLICE),
    "SHAPSERVE_MAX_ROWS": str(N),
    "SHAPSERVE_MAX_INFLIGHT_ROWS": str(N),
}
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def database(pg: PostgresServer) -> str:
    return pg.new_database()


@pytest.fixture(scope="module")
def servers(
    packaged: dict[str, str], database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for name in ("a", "b"):  # started together, the slow part of this module
            home = tmp_path_factory.mktemp(f"pg-server-{name}")
            started.append(Server(packaged["svc"], database, home, ENV))
        yield [srv.ready() for srv in started]
    finally:
        for srv in started:
            srv.stop()


def _running_on(servers: list[Server], url: str, job_id: str) -> tuple[Server, Server]:
    """Wait until the job is mid-way (some slices committed, not all); (its server, the other)."""

    def midway() -> str | None:
        row = job_row(url, job_id)
        assert row is not None and row[2] != "done", f"the job ended before it could be caught: {row}"
        return row[1] if 0 < row[0] < N - SLICE else None

    runner = until(f"job {job_id} mid-way", midway)
    pid = int(runner.rsplit(":", 1)[1])
    owner = next(s for s in servers if pid in s.pids())
    return owner, next(s for s in servers if s is not owner)


def test_a_job_submitted_to_one_server_is_polled_and_paged_on_the_other(
    servers: list[Server], database: str
) -> None:
    a, b = servers
    rows = rows_of(90)
    job_id = submit(a, rows)
    status = done(b, job_id)
    assert status["rows_done"] == 90 and status["global_explanation"]["n_rows"] == 90
    same_as_explain(b, job_id, rows, limit=25)
    meta = httpx.get(b.url + "/metadata", timeout=30).json()["jobs"]
    assert meta["backend"] == "postgresql" and meta["outlive_worker"] is True
    r = httpx.delete(f"{a.url}/explain_jobs/{job_id}", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "done"
    assert httpx.get(f"{b.url}/explain_jobs/{job_id}", timeout=30).status_code == 404


def _cancelled_count(srv: Server) -> float:
    text = httpx.get(srv.url + "/metrics", timeout=30).text
    lines = [
        ln
        for ln in text.splitlines()
        if ln.startswith("shapserve_jobs_finished_total") and 'status="cancelled"' in ln
    ]
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)


def test_delete_on_one_server_stops_the_work_on_the_other(servers: list[Server], database: str) -> None:
    job_id = submit(servers[0], rows_of(N))
    owner, other = _running_on(servers, database, job_id)
    before = _cancelled_count(owner)
    r = httpx.delete(f"{other.url}/explain_jobs/{job_id}", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    # the runner stops at its next slice: it counts the job cancelled, and nothing of it is left
    until("the runner stopped", lambda: _cancelled_count(owner) == before + 1)
    assert job_row(database, job_id) is None
    with connect(database) as c:
        assert c.execute(
            "SELECT count(*) FROM shapserve_job_slices WHERE job_id = %s", (job_id,)
        ).fetchone() == (0,)
    for srv in servers:
        assert httpx.get(f"{srv.url}/explain_jobs/{job_id}", timeout=30).status_code == 404


def test_a_killed_server_s_job_is_finished_by_the_other_with_every_row_once(
    servers: list[Server], database: str
) -> None:
    rows = rows_of(N)
    job_id = submit(servers[0], rows)
    owner, other = _running_on(servers, database, job_id)
    killed = job_row(database, job_id)
    owner.kill(signal.SIGKILL)
    owner.start()  # a replacement boots meanwhile (the next test needs two servers)
    try:
        status = done(other, job_id)
        row = job_row(database, job_id)
        assert killed is not None and row is not None and row[1] != killed[1]  # taken over by another worker
        assert status["rows_done"] == N
        same_as_explain(other, job_id, rows, limit=500)
    finally:
        owner.ready()


@pytest.mark.xfail(
    reason="known defect (docs/reliability.md, 'What survives what'): after a PostgreSQL restart the job "
    "stays unfinished (more than 180 s in 1 of 2 clean-clone CI runs and in a local run on 2026-12-07): no worker "
    "claims it again, likely pgqueuer's listener not reconnecting; runs every time, reported as XFAIL/XPASS",
    strict=False,
)
def test_a_database_restart_while_a_job_runs(
    servers: list[Server], database: str, pg: PostgresServer
) -> None:
    """While PostgreSQL is down, a job's status is a 503 with Retry-After (nothing changed) and /explain
    answers 200; the job's slice commit fails, so its worker hands it back (or its lease runs out), and
    once the database is back the job finishes with every row once."""
    rows = rows_of(N)
    job_id = submit(servers[0], rows)
    _running_on(servers, database, job_id)
    pg.halt()
    try:
        for srv in servers:
            r = httpx.get(f"{srv.url}/explain_jobs/{job_id}", timeout=60)
            assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
            assert r.json()["kind"] == "database_unavailable"
            answer = httpx.post(srv.url + "/explain", json={"instances": rows[:2]}, timeout=60)
            assert answer.status_code == 200, answer.text
    finally:
        pg.resume()

    def answered() -> bool:  # a 503 at most while a server's connections find the database again
        r = httpx.get(f"{servers[1].url}/explain_jobs/{job_id}?limit=1", timeout=60)
        assert (
            r.status_code in (200, 503)
            and r.json().get("kind", "database_unavailable") == "database_unavailable"
        )
        return r.status_code == 200

    until("job statuses answered again", answered)
    status = done(servers[1], job_id, wait=45)  # a lease is 3 s: the known defect (xfail) waits no longer
    assert status["rows_done"] == N
    same_as_explain(servers[0], job_id, rows, limit=500)


def test_sigterm_hands_a_running_job_over_at_once(servers: list[Server], database: str) -> None:
    rows = rows_of(N)
    job_id = submit(servers[0], rows)
    owner, other = _running_on(servers, database, job_id)
    owner.kill(signal.SIGTERM)
    # handed back at shutdown (a retry the library logged), not waited out until the lease ran out
    with connect(database) as c:
        queue_id = c.execute("SELECT queue_id FROM shapserve_jobs WHERE id = %s", (job_id,)).fetchone()
        logged = c.execute(
            "SELECT traceback FROM pgqueuer_log WHERE job_id = %s AND status = 'queued' AND traceback IS NOT NULL",
            queue_id,
        ).fetchall()
    assert any("handed back at shutdown" in json.dumps(t[0]) for t in logged), logged
    status = done(other, job_id)
    assert status["rows_done"] == N
    same_as_explain(other, job_id, rows, limit=500)
