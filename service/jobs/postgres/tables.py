"""The jobs' own tables in PostgreSQL: each job's status and body, and its committed slices of result.

``shapserve_jobs`` holds a job's status (the database's clock: ``extract(epoch from now())``) and the
request body it was submitted with, so any worker can take it over.  ``shapserve_job_slices`` holds the
finished slices, keyed by their first row: a slice is committed in one transaction with the job's
``rows_done``, and only if ``rows_done`` was still the slice's first row and the job still running
(:meth:`JobTables.commit_slice`), so two workers that computed the same rows commit them once.
Deleting a job deletes its slices (``ON DELETE CASCADE``).  The queue itself (claims, leases,
heartbeats) is pgqueuer's (``queue``).
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from store.db import PG_CONNECT

from ..store import ARRAYS, JobGone

LOCK_KEY = 0x5348_4A4F  # pg_advisory_lock key of the DDL, so that servers starting together do not race
STATUS_COLUMNS = (
    "id, status, rows, rows_done, top_k, submitted_at, started_at, finished_at, error, global, queue_id"
)
NOW = "extract(epoch from clock_timestamp())"
# a call waits at most this long for a connection while the database is down or cut off, then fails
# (503 on a route, a hand-back for a job's runner) instead of holding a thread for the pool's 30 s default
POOL_TIMEOUT = 5.0

DDL = """
CREATE TABLE IF NOT EXISTS shapserve_jobs (
    id text PRIMARY KEY,
    model text NOT NULL,
    version text NOT NULL,
    status text NOT NULL,
    rows integer NOT NULL,
    rows_done integer NOT NULL DEFAULT 0,
    top_k integer,
    body bytea,
    queue_id bigint,
    runner text,
    submitted_at double precision NOT NULL,
    started_at double precision,
    finished_at double precision,
    error jsonb,
    global jsonb
);
CREATE INDEX IF NOT EXISTS shapserve_jobs_model_status ON shapserve_jobs (model, version, status);
CREATE TABLE IF NOT EXISTS shapserve_job_slices (
    job_id text NOT NULL REFERENCES shapserve_jobs (id) ON DELETE CASCADE,
    lo integer NOT NULL,
    hi integer NOT NULL,
    arrays bytea NOT NULL,
    abs_sum bytea NOT NULL,
    predictions jsonb NOT NULL,
    PRIMARY KEY (job_id, lo)
);
"""


def conninfo(url: str) -> str:
    """libpq's connection string from a SQLAlchemy URL (``postgresql+psycopg://`` -> ``postgresql://``),
    with the store's connect timeout and TCP keepalives (a database out of reach fails a call, not hangs)."""
    scheme, sep, rest = url.partition("://")
    if not sep or not scheme.startswith(("postgresql", "postgres")):
        raise ValueError(f"not a PostgreSQL URL: {url.split('@')[-1]!r}")
    return make_conninfo("postgresql://" + rest, **PG_CONNECT)


def _pack(arrays: dict[str, np.ndarray | None]) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: v for k, v in arrays.items() if v is not None}, allow_pickle=False)
    return buf.getvalue()


def _unpack(blob: bytes) -> dict[str, np.ndarray]:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {k: data[k] for k in data.files}


class JobTables:
    """The jobs of one model version in one PostgreSQL database (a small pool of connections).

    Every connection is checked as it leaves the pool: after a database restart or a network cut the
    pool's connections are all broken, and each is replaced then instead of failing the call that got it
    (a runner's first call after the restart, which would have lost the job's claim)."""

    def __init__(self, url: str, model: str, version: str) -> None:
        self.model, self.version = model, version
        self.pool = ConnectionPool(
            conninfo(url),
            min_size=1,
            max_size=4,
            open=True,
            kwargs={"autocommit": False},
            check=ConnectionPool.check_connection,
            timeout=POOL_TIMEOUT,
        )
        with self.pool.connection() as c:
            c.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
            c.execute(DDL)  # type: ignore[arg-type]

    def close(self) -> None:
        self.pool.close()

    def _one(self, sql: str, args: tuple[Any, ...]) -> dict[str, Any] | None:
        with self.pool.connection() as c, c.cursor(row_factory=dict_row) as cur:
            cur.execute(sql, args)  # type: ignore[arg-type]
            return cur.fetchone()

    # -- statuses ---------------------------------------------------------------------------------------
    def create(self, job_id: str, rows: int, top_k: int | None, body: bytes) -> dict[str, Any]:
        status = self._one(
            f"INSERT INTO shapserve_jobs (id, model, version, status, rows, top_k, body, submitted_at) "
            f"VALUES (%s, %s, %s, 'queued', %s, %s, %s, {NOW}) RETURNING {STATUS_COLUMNS}",
            (job_id, self.model, self.version, rows, top_k, body),
        )
        assert status is not None
        return status

    def set_queue_id(self, job_id: str, queue_id: int) -> None:
        self._one("UPDATE shapserve_jobs SET queue_id = %s WHERE id = %s RETURNING id", (queue_id, job_id))

    def read(self, job_id: str) -> dict[str, Any] | None:
        return self._one(
            f"SELECT {STATUS_COLUMNS} FROM shapserve_jobs WHERE id = %s AND model = %s AND version = %s",
            (job_id, self.model, self.version),
        )

    def queued(self) -> int:
        row = self._one(
            "SELECT count(*) AS n FROM shapserve_jobs WHERE model = %s AND version = %s AND status = 'queued'",
            (self.model, self.version),
        )
        return int(row["n"]) if row else 0

    def remove(self, job_id: str) -> dict[str, Any] | None:
        """Delete a job and its slices; its last status (None when it was already gone)."""
        return self._one(
            f"DELETE FROM shapserve_jobs WHERE id = %s AND model = %s AND version = %s "
            f"RETURNING {STATUS_COLUMNS}",
            (job_id, self.model, self.version),
        )

    def sweep(self, ttl: float, stored_rows: int) -> None:
        """Forget finished jobs past their time to live, then the oldest done ones while the done rows
        exceed ``stored_rows`` (never the newest)."""
        with self.pool.connection() as c:
            c.execute(
                f"DELETE FROM shapserve_jobs WHERE model = %s AND version = %s AND finished_at + %s < {NOW}",
                (self.model, self.version, ttl),
            )
            c.execute(
                "DELETE FROM shapserve_jobs WHERE id IN (SELECT id FROM (SELECT id, "
                "sum(rows) OVER w AS kept, row_number() OVER w AS n FROM shapserve_jobs "
                "WHERE model = %s AND version = %s AND status = 'done' "
                "WINDOW w AS (ORDER BY finished_at DESC, id)) newest_first WHERE n > 1 AND kept > %s)",
                (self.model, self.version, stored_rows),
            )

    # -- the runner's side ------------------------------------------------------------------------------
    def start(self, job_id: str, runner: str) -> dict[str, Any] | None:
        """Mark a queued or running job running in ``runner`` (host:pid; a taken-over job keeps its first
        start); its status and body, or None when it has gone or ended."""
        return self._one(
            f"UPDATE shapserve_jobs SET status = 'running', started_at = coalesce(started_at, {NOW}), "
            f"runner = %s WHERE id = %s AND status IN ('queued', 'running') RETURNING {STATUS_COLUMNS}, body",
            (runner, job_id),
        )

    def commit_slice(
        self, job_id: str, lo: int, hi: int, arrays: dict[str, np.ndarray | None], predictions: list[Any]
    ) -> bool:
        """Commit rows ``lo`` to ``hi`` of a running job's result with its ``rows_done``; False (nothing
        written) when the job has gone, ended or moved past ``lo`` (another worker committed them)."""
        abs_sum = np.abs(np.asarray(arrays["values"])).sum(axis=0)
        with self.pool.connection() as c:
            moved = c.execute(
                "UPDATE shapserve_jobs SET rows_done = %s WHERE id = %s AND rows_done = %s AND status = 'running'",
                (hi, job_id, lo),
            ).rowcount
            if moved != 1:
                c.rollback()
                return False
            c.execute(
                "INSERT INTO shapserve_job_slices (job_id, lo, hi, arrays, abs_sum, predictions) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (job_id, lo, hi, _pack(arrays), _pack({"abs_sum": abs_sum}), Jsonb(predictions)),
            )
        return True

    def abs_sum(self, job_id: str) -> np.ndarray:
        """Sum of |SHAP values| over every committed row of a job (for its global explanation)."""
        with self.pool.connection() as c:
            blobs = c.execute(
                "SELECT abs_sum FROM shapserve_job_slices WHERE job_id = %s", (job_id,)
            ).fetchall()
        return np.sum([_unpack(b[0])["abs_sum"] for b in blobs], axis=0)

    def finish(self, job_id: str, status: str, error: dict[str, Any] | None, glob: Any = None) -> bool:
        """End a running job (done or failed) and drop its body; False when it had gone or ended."""
        row = self._one(
            f"UPDATE shapserve_jobs SET status = %s, finished_at = {NOW}, error = %s, global = %s, "
            "body = NULL WHERE id = %s AND status IN ('queued', 'running') RETURNING id",
            (status, None if error is None else Jsonb(error), None if glob is None else Jsonb(glob), job_id),
        )
        return row is not None

    # -- pages ------------------------------------------------------------------------------------------
    def page(self, job_id: str, offset: int, limit: int) -> dict[str, Any]:
        """Rows ``offset`` to ``offset + limit`` of a done job's result (the directory store's shape)."""
        with self.pool.connection() as c:
            rows = c.execute(
                "SELECT lo, arrays, predictions FROM shapserve_job_slices "
                "WHERE job_id = %s AND hi > %s AND lo < %s ORDER BY lo",
                (job_id, offset, offset + limit),
            ).fetchall()
        if not rows:
            raise JobGone(job_id)
        parts = [_unpack(r[1]) for r in rows]
        start = offset - rows[0][0]
        cut = slice(start, start + limit)
        out: dict[str, Any] = {
            name: np.concatenate([p[name] for p in parts])[cut] for name in ARRAYS if name in parts[0]
        }
        out["predictions"] = [v for r in rows for v in _json(r[2])][cut]
        return out


def _json(value: Any) -> list[Any]:
    return list(json.loads(value) if isinstance(value, (str, bytes)) else value)
