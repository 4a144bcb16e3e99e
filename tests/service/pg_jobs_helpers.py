"""Helpers of the two-server job tests on PostgreSQL, shared by tests/service (server processes) and
tests/deploy (containers of the image): submit, poll, page and compare a job over HTTP, and read its
row in the database. A server is anything with a ``url`` (a plain module: tests/ is not a package)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Protocol

import httpx
from svc_helpers import additivity_error, assert_pages_are

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "store"))
from pg_server import PostgresServer  # noqa: E402 - tests/store's throw-away PostgreSQL
from pg_serving import WAIT, rows_of, until  # noqa: E402,F401 - one copy; WAIT and rows_of re-exported
from pg_serving import connect as db  # noqa: E402

LEASE = 3  # SHAPSERVE_JOB_LEASE of the servers, seconds
SLICE = 8  # SHAPSERVE_JOB_SLICE_ROWS: many slices, so that a job is caught half-way


class HasUrl(Protocol):
    url: str


def jobs_env(db_url: str, max_rows: int) -> dict[str, str]:
    """The servers' job settings: the shared database, a short lease and small slices."""
    return {
        "SHAPSERVE_JOBS_URL": db_url,
        "SHAPSERVE_JOB_LEASE": str(LEASE),
        "SHAPSERVE_JOB_SLICE_ROWS": str(SLICE),
        "SHAPSERVE_MAX_ROWS": str(max_rows),
        "SHAPSERVE_MAX_INFLIGHT_ROWS": str(max_rows),
    }


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh database on a throw-away PostgreSQL server (initdb + pg_ctl, about 2 s); its URL."""
    pg = PostgresServer().start()
    try:
        yield pg.new_database()
    finally:
        pg.stop()


def job_row(url: str, job_id: str) -> tuple[int, str | None, str] | None:
    """(rows_done, runner, status) of the job in the database, None once it is gone."""
    with db(url) as c:
        row = c.execute(
            "SELECT rows_done, runner, status FROM shapserve_jobs WHERE id = %s", (job_id,)
        ).fetchone()
    return None if row is None else (int(row[0]), row[1], str(row[2]))


def submit(srv: HasUrl, rows: list[Any], **options: Any) -> str:
    """POST the rows as a job (top_k 3, and /explain's ``options``, e.g. ``error_estimate=True``); its id."""
    body = {"instances": rows, "top_k": 3, **options}
    r = httpx.post(srv.url + "/explain_jobs", json=body, timeout=120)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/explain_jobs/{r.json()['id']}"
    return str(r.json()["id"])


def done(srv: HasUrl, job_id: str, wait: float = WAIT) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        r = httpx.get(f"{srv.url}/explain_jobs/{job_id}?limit=1", timeout=30)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["status"] in ("queued", "running", "done"), body
        return dict(body) if body["status"] == "done" else None

    return dict(until(f"job {job_id} done on {srv.url}", check, wait))


def same_as_explain(srv: HasUrl, job_id: str, rows: list[Any], limit: int, **options: Any) -> None:
    """Every page of the job's result, read from ``srv``, equals one /explain of the rows (with the job's
    ``options``) bit for bit: every row once, in order, its error estimate too when the job asked."""
    pages: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        r = httpx.get(f"{srv.url}/explain_jobs/{job_id}?offset={offset}&limit={limit}", timeout=60)
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["page"]["offset"] == offset
        pages.append(body["result"])
        offset = body["page"]["next_offset"]
    answer = httpx.post(srv.url + "/explain", json={"instances": rows, "top_k": 3, **options}, timeout=120)
    assert answer.status_code == 200, answer.text
    reference = answer.json()
    assert additivity_error(reference) < 1e-6
    assert ("error_estimate" in reference) is bool(options.get("error_estimate"))
    assert_pages_are(reference, pages)


def cancelled_count(srv: HasUrl) -> float:
    """shapserve_jobs_finished_total{status="cancelled"} of the server's /metrics."""
    text = httpx.get(srv.url + "/metrics", timeout=30).text
    lines = [
        ln
        for ln in text.splitlines()
        if ln.startswith("shapserve_jobs_finished_total") and 'status="cancelled"' in ln
    ]
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)


def midway_runner(url: str, job_id: str, n: int) -> str:
    """Wait until the job is mid-way (some slices committed, not all); its runner (host:pid)."""

    def midway() -> str | None:
        row = job_row(url, job_id)
        assert row is not None and row[2] != "done", f"the job ended before it could be caught: {row}"
        return row[1] if 0 < row[0] < n - SLICE else None

    return str(until(f"job {job_id} mid-way", midway))


def gone_everywhere(url: str, servers: list[Any], job_id: str) -> None:
    """A deleted job: no row, no slice, a 404 on every server."""
    assert job_row(url, job_id) is None
    with db(url) as c:
        assert c.execute(
            "SELECT count(*) FROM shapserve_job_slices WHERE job_id = %s", (job_id,)
        ).fetchone() == (0,)
    for srv in servers:
        assert httpx.get(f"{srv.url}/explain_jobs/{job_id}", timeout=30).status_code == 404


# -- the scenarios, the same for server processes and for containers ----------------------------------
OwnerOf = Callable[[str], tuple[Any, Any]]  # job id -> (the server running it mid-way, the other)


def paged_on_the_other(a: HasUrl, b: HasUrl, n: int, limit: int) -> str:
    """Submit ``n`` rows on ``a``; poll and page them on ``b``, equal to one /explain; the job's id."""
    rows = rows_of(n)
    job_id = submit(a, rows)
    status = done(b, job_id)
    assert status["rows_done"] == n and status["global_explanation"]["n_rows"] == n
    same_as_explain(b, job_id, rows, limit=limit)
    meta = httpx.get(b.url + "/metadata", timeout=30).json()["jobs"]
    assert meta["backend"] == "postgresql" and meta["outlive_worker"] is True
    return job_id


def delete_stops_the_runner(servers: list[Any], url: str, n: int, owner_of: OwnerOf) -> None:
    """A DELETE on the server not running a job stops the runner at its next slice; nothing is left."""
    job_id = submit(servers[0], rows_of(n))
    owner, other = owner_of(job_id)
    before = cancelled_count(owner)
    r = httpx.delete(f"{other.url}/explain_jobs/{job_id}", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    until("the runner stopped", lambda: cancelled_count(owner) == before + 1)
    gone_everywhere(url, servers, job_id)


def finished_by_the_other_after(
    kill: Callable[[Any], None], servers: list[Any], url: str, n: int, owner_of: OwnerOf
) -> tuple[Any, str]:
    """``kill`` the server running a job mid-way: the other finishes it with every row once, equal bit
    for bit to one /explain. (the other server, the job's last runner)"""
    rows = rows_of(n)
    job_id = submit(servers[0], rows)
    owner, other = owner_of(job_id)
    killed = job_row(url, job_id)
    kill(owner)
    status = done(other, job_id)
    row = job_row(url, job_id)
    assert killed is not None and row is not None and row[1] is not None and row[1] != killed[1]
    assert status["rows_done"] == n
    same_as_explain(other, job_id, rows, limit=max(n // 2, 1))
    return other, row[1]
