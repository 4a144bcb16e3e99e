"""Explain jobs on PostgreSQL: any worker of any server accepts, runs, pages and cancels any job.

The routes' side is the directory manager's (``JobManager.public`` and the result pages, with
``JobTables`` in place of the jobs directory); what differs is where a job lives and who runs it.  A
submitted job is a row of ``shapserve_jobs`` (with its body) and a pgqueuer job; a worker that claims it
reads the body in its job process and explains the rows from the job's ``rows_done`` on, one slice at
a time, each slice committed with ``rows_done`` (``JobTables.commit_slice``; the slice's error
estimate, when the body asked for one, in the same row).  When that worker dies
its lease runs out and another worker takes the job over from the last committed slice; at a clean
shutdown its jobs go back to the queue at once (``JobQueue.close``).  A deleted job's row is gone: its
runner stops at its next commit.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from scorers.scoring_explainer import slice_end

from ... import answers, errors
from ...errors import ClientDisconnectedError, NotFoundError, NotReadyError, OverloadedError
from ...metrics import JOBS, JOBS_FINISHED, ROWS
from .. import process
from ..manager import CHUNK_SECONDS, FIRST_CHUNK, LIVE, SWEEP_SECONDS, JobManager, _input_error
from ..store import new_id, result_arrays, valid_id
from .queue import JobQueue
from .tables import JobTables, conninfo

if TYPE_CHECKING:
    from ...core import ScoringService


class PgJobManager(JobManager):
    def __init__(self, core: ScoringService, url: str) -> None:  # noqa: D107 - no directory, no runner threads
        self.core = core
        self.settings = core.settings
        self.tables = JobTables(url, core.name, core.version)
        self.store = cast(Any, self.tables)  # the inherited result pages read .page(), which both stores have
        self._closed = False
        self._pool = None
        self._pool_lock = threading.Lock()
        self._in_flight = 0
        self._count_lock = threading.Lock()
        self._swept = 0.0
        self.runner = f"{socket.gethostname()}:{os.getpid()}"
        self.queue = JobQueue(
            conninfo(url), self._run, self.settings.job_concurrency, self.settings.job_lease
        )

    # -- the routes -------------------------------------------------------------------------------------
    def submit(self, raw: bytes, cancel: threading.Event) -> dict[str, Any]:
        self._sweep_now()
        self._check_room()
        parsed = self._in_process(process.parse, raw)
        if "error" in parsed:
            raise _input_error(parsed["error"])
        if cancel.is_set():
            raise ClientDisconnectedError("the client disconnected before its job was accepted")
        self._check_room()
        job_id = new_id()
        status = self.tables.create(job_id, len(parsed["frame"]), parsed["top_k"], raw)
        try:
            self.tables.set_queue_id(job_id, self.queue.enqueue(job_id))
        except Exception:
            self.tables.remove(job_id)
            raise
        return self.public(status)

    def delete(self, job_id: str) -> dict[str, Any]:
        status = self.tables.remove(job_id) if valid_id(job_id) else None
        if status is None:
            raise self._not_found(job_id)
        if status["status"] in LIVE:
            if status["queue_id"] is not None:
                self.queue.cancel(status["queue_id"])  # off the queue; its runner stops at its next commit
            status.update(status="cancelled", finished_at=time.time())
        return self.public(status)

    def close(self) -> None:
        """At the worker's shutdown: running jobs go back to the queue at once, for any worker."""
        self._closed = True
        self.queue.close()
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        self.tables.close()

    def sweep(self) -> None:
        self._swept = time.monotonic()
        self.tables.sweep(self.settings.job_ttl, self.settings.job_stored_rows)

    def _sweep_now(self) -> None:
        if time.monotonic() - self._swept > SWEEP_SECONDS:
            self.sweep()

    def _read(self, job_id: str) -> dict[str, Any]:
        status = self.tables.read(job_id) if valid_id(job_id) else None
        if status is None:
            raise self._not_found(job_id)
        finished = status["finished_at"]
        if finished is not None and finished + self.settings.job_ttl < time.time():
            self.tables.remove(job_id)
            raise self._not_found(job_id)
        return status

    def _not_found(self, job_id: str) -> NotFoundError:
        s = self.settings
        return NotFoundError(
            f"no job '{job_id}' here: it was deleted, or finished more than SHAPSERVE_JOB_TTL ({s.job_ttl:g} s) "
            "ago, or was evicted to keep the finished results within SHAPSERVE_JOB_STORED_ROWS "
            f"({s.job_stored_rows} rows), or it is a job of another model version"
        )

    def _check_room(self) -> None:
        if self._closed:
            raise NotReadyError("the server is shutting down; submit the job again shortly")
        queued = self.tables.queued()
        if queued >= self.settings.max_queued_jobs:
            raise OverloadedError(
                f"{queued} jobs of this model are already queued (SHAPSERVE_MAX_QUEUED_JOBS, counted over "
                "every server); retry shortly"
            )

    def _count_running(self, change: int) -> None:
        with self._count_lock:
            self._in_flight += change
            JOBS.labels(**self.core.labels, status="running").set(self._in_flight)

    # -- running (the queue's threads) ------------------------------------------------------------------
    def _run(self, job_id: str, stopping: threading.Event) -> bool:
        """Run a claimed job from its last committed slice: True when it has ended here (done, failed,
        gone), False when it is handed back (shutdown, or the database failed). A database error never
        escapes: pgqueuer would end the job (off the queue for good) while its row stayed running."""
        try:
            status = self.tables.start(job_id, self.runner)
        except Exception as exc:  # noqa: BLE001 - the claim's first call met a database down or cut off
            if errors.database_down(exc):
                return False
            raise
        if status is None:
            return True  # deleted, or ended by another worker
        self._count_running(+1)
        try:
            return self._slices(status, stopping)
        except Exception as exc:  # noqa: BLE001 - a failed job, reported in its status
            if stopping.is_set() or errors.database_down(exc):
                return False  # handed back: the next worker resumes from the last committed slice
            _, body, _ = errors.describe(exc)  # an internal error is logged under a request id
            if self.tables.finish(job_id, "failed", body):
                JOBS_FINISHED.labels(**self.core.labels, status="failed").inc()
            return True
        finally:
            self._count_running(-1)

    def _slices(self, status: dict[str, Any], stopping: threading.Event) -> bool:
        job_id, n, lo = status["id"], status["rows"], status["rows_done"]
        parsed = self._in_process(process.parse, bytes(status["body"]))
        if "error" in parsed:
            raise _input_error(parsed["error"])
        frame, size = parsed["frame"], FIRST_CHUNK
        while lo < n:
            if stopping.is_set():
                return False
            hi = slice_end(lo, min(size, self.settings.job_slice_rows), n)  # whole blocks: /explain's bits
            t0 = time.perf_counter()
            part = self._in_process(process.explain, frame.iloc[lo:hi], parsed["error_estimate"])
            size = int((hi - lo) / max(time.perf_counter() - t0, 1e-9) * CHUNK_SECONDS)
            labels = [v.item() if isinstance(v, np.generic) else v for v in part["pred"]]
            if not self.tables.commit_slice(job_id, lo, hi, result_arrays(part), labels):
                if self.tables.read(job_id) is None:
                    JOBS_FINISHED.labels(**self.core.labels, status="cancelled").inc()
                return True  # deleted, or taken over by a worker that committed these rows first
            lo = hi
        self._done(job_id, n)
        return True

    def _done(self, job_id: str, n: int) -> None:
        from batch.aggregate import global_explanation

        glob = global_explanation(self.core.explainer, [self.tables.abs_sum(job_id)], n)
        if self.tables.finish(job_id, "done", None, answers.global_body(glob, None)):
            JOBS_FINISHED.labels(**self.core.labels, status="done").inc()
            ROWS.labels(**self.core.labels, endpoint="explain_jobs").inc(n)
            self.sweep()
