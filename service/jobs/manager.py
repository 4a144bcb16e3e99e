"""The explain jobs of one worker: a queue, a bounded pool of job processes, progress, cancellation,
expiry.

A job is accepted by one worker and computed there, in ``SHAPSERVE_JOB_CONCURRENCY`` spawned processes
(``service.jobs.process``: lower CPU priority, one BLAS thread), so requests keep the worker's own
threads and most of the CPU.  Its rows go to the process in slices of about half a second of work; the
status is written after each, and a cancelled job stops before the next.  Statuses and results live in
the jobs directory (``service.jobs.store``), which every worker of the server reads: any worker answers
``GET`` and ``DELETE``.  A job is lost when its worker ends before the job does (restart, crash,
shutdown): its input lived in that worker's memory.  ``GET`` then answers ``failed``, kind ``job_lost``.
"""

from __future__ import annotations

import multiprocessing
import socket
import threading
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import psutil

import scorers.errors as engine_errors
from scorers import Explanation
from scorers.errorbars import ErrorEstimate
from scorers.scoring_explainer import ROW_BLOCK, slice_end
from scorers.top_k import query_integer

from .. import answers, errors
from ..errors import ClientDisconnectedError, NotFoundError, NotReadyError, OverloadedError, error_body
from ..metrics import JOBS, JOBS_FINISHED, ROWS
from . import process
from .store import JobGone, JobStore, error_estimate_of, new_id, result_arrays, valid_id

if TYPE_CHECKING:
    from ..core import ScoringService

CHUNK_SECONDS = 0.5  # work per slice sent to a job process: the progress step and the cancellation delay
FIRST_CHUNK = 4 * ROW_BLOCK
MAX_CHUNK = 1024  # under batch.partition.EXPLAIN_CHUNK even with a remainder: one explain call per slice
SWEEP_SECONDS = 60.0  # an idle worker forgets expired jobs this often
DEFAULT_OFFSET = 0
DEFAULT_PAGE = 1000
MAX_PAGE = 10_000
LIVE = ("queued", "running")
LOST = "job_lost"


@dataclass
class Job:
    """A job its worker holds: the status it writes, and the validated rows until they are explained."""

    status: dict[str, Any]
    frame: pd.DataFrame | None
    error_estimate: bool = False  # each row's error estimate kept with its values (the body asked)
    cancel: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    final: bool = False  # done, failed or cancelled: nothing more is written

    @property
    def id(self) -> str:
        return str(self.status["id"])


def jobs_root(settings: Any) -> Path:
    if settings.jobs_dir:
        return Path(settings.jobs_dir)
    home = Path(settings.bentoml_home) if settings.bentoml_home else Path.home() / ".shapserve"
    return home / ("shapserve-jobs" if settings.bentoml_home else "jobs")


def _iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")


def _input_error(error: dict[str, Any]) -> Exception:
    """An input error a job process described, as the class it raised (row and field kept)."""
    cls = getattr(engine_errors, error["class"], None) or getattr(errors, error["class"], None)
    if not (isinstance(cls, type) and issubclass(cls, engine_errors.InputError)):
        cls = engine_errors.InputError
    return cls(error["message"], row=error["row"], field=error["field"])


class JobManager:
    def __init__(self, core: ScoringService) -> None:
        self.core = core
        self.settings = core.settings
        self.store = JobStore(jobs_root(self.settings) / core.name / core.version)
        me = psutil.Process()
        self.owner = {"host": socket.gethostname(), "pid": me.pid, "started": me.create_time()}
        self._cv = threading.Condition()
        self._queue: deque[Job] = deque()
        self._running: dict[str, Job] = {}
        self._closed = False
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        for i in range(self.settings.job_concurrency):
            threading.Thread(target=self._runner, name=f"shapserve-job-runner-{i}", daemon=True).start()

    # -- the routes -------------------------------------------------------------------------------------
    def submit(self, raw: bytes, cancel: threading.Event) -> dict[str, Any]:
        """Accept a ``POST /explain_jobs`` body: read in a job process (400 naming the row and field, as
        ``/explain``), queued here; the status of the queued job."""
        if self.settings.jobs_require_shared:
            raise errors.JobsUnavailableError(
                "explain jobs are off on this server: SHAPSERVE_JOBS_REQUIRE_SHARED is set (several replicas "
                "may run) and no PostgreSQL is configured for jobs (SHAPSERVE_JOBS_URL, or a PostgreSQL "
                "SHAPSERVE_STORE_URL), so an accepted job would live on one pod and could be lost"
            )
        self.sweep()
        self._check_room()
        parsed = self._in_process(process.parse, raw)
        if "error" in parsed:
            raise _input_error(parsed["error"])
        if cancel.is_set():
            raise ClientDisconnectedError("the client disconnected before its job was accepted")
        frame = parsed["frame"]
        status = {
            "id": new_id(),
            "status": "queued",
            "rows": len(frame),
            "rows_done": 0,
            "top_k": parsed["top_k"],
            "submitted_at": time.time(),
            "started_at": None,
            "finished_at": None,
            "error": None,
            "global": None,
            "owner": self.owner,
        }
        with self._cv:
            self._check_room()  # again: the queue may have filled while the body was read
            self.store.create(status)
            self._queue.append(Job(status, frame, parsed["error_estimate"]))
            self._show()
            self._cv.notify()
        return self.public(status)

    def get(self, job_id: str, offset: Any = None, limit: Any = None) -> dict[str, Any]:
        """A job's status; when done, also a page of its result (``offset``, ``limit``: rows)."""
        first, size = _page_args(offset, limit)
        status = self._read(job_id)
        body = self.public(status)
        if status["status"] == "done":
            if first >= status["rows"]:
                raise engine_errors.InputError(
                    f"expected an integer from 0 to {status['rows'] - 1} (the job has {status['rows']} rows)",
                    field="offset",
                )
            try:
                body.update(self._page(status, first, size))
            except JobGone:
                raise self._not_found(job_id) from None
        return body

    def delete(self, job_id: str) -> dict[str, Any]:
        """Cancel a job (a running one stops before its next slice) and forget it; its last status."""
        status = self._read(job_id)
        with self._cv:
            queued = next((j for j in self._queue if j.id == job_id), None)
            if queued is not None:
                self._queue.remove(queued)
                self._show()
            job = queued or self._running.get(job_id)
        if job is not None:
            job.cancel.set()
        if not self.store.remove(job_id):
            raise self._not_found(job_id)
        if queued is not None:
            self._finish(queued, "cancelled")
        if status["status"] in LIVE:
            status.update(status="cancelled", finished_at=time.time())
        return self.public(status)

    def close(self) -> None:
        """At the worker's shutdown: its queued and running jobs end as failed (lost), its processes stop."""
        with self._cv:
            self._closed = True
            jobs = [*self._queue, *self._running.values()]
            self._queue.clear()
            self._cv.notify_all()
        for job in jobs:
            job.cancel.set()
            self._finish(job, "failed", error_body("the server shut down before the job finished", LOST))
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    # -- statuses ---------------------------------------------------------------------------------------
    def public(self, status: dict[str, Any]) -> dict[str, Any]:
        """A job's status as ``GET /explain_jobs/{id}`` shows it (``schemas.JobStatus``)."""
        now = time.time()
        submitted, started, finished = status["submitted_at"], status["started_at"], status["finished_at"]
        running = None if started is None else round((finished or now) - started, 3)
        return {
            "id": status["id"],
            "status": status["status"],
            "rows": status["rows"],
            "rows_done": status["rows_done"],
            "progress": round(status["rows_done"] / status["rows"], 4),
            "submitted_at": _iso(submitted),
            "started_at": _iso(started),
            "finished_at": _iso(finished),
            "expires_at": _iso(None if finished is None else finished + self.settings.job_ttl),
            "queued_seconds": round((started or finished or now) - submitted, 3),
            "running_seconds": running,
            "rows_per_second": round(status["rows_done"] / running, 1) if running else None,
            "error": status["error"],
            "result": None,
            "page": None,
            "global_explanation": status["global"],
        }

    def _read(self, job_id: str) -> dict[str, Any]:
        status = self.store.read(job_id) if valid_id(job_id) else None
        if status is None:
            raise self._not_found(job_id)
        if status["status"] in LIVE and self._lost(status):
            pid = status["owner"]["pid"]
            message = (
                f"the job was lost: the worker that accepted it (pid {pid}) ended before the job did "
                "(a restart, a crash or a shutdown), and a job does not outlive its worker; submit it again"
            )
            status.update(status="failed", finished_at=time.time(), error=error_body(message, LOST))
            try:
                self.store.write(status)
            except JobGone:
                raise self._not_found(job_id) from None
        finished = status["finished_at"]
        if finished is not None and finished + self.settings.job_ttl < time.time():
            self.store.remove(job_id)
            raise self._not_found(job_id)
        return status

    def _lost(self, status: dict[str, Any]) -> bool:
        """Whether a queued or running job's worker has ended (known only on the same host)."""
        owner = status["owner"]
        if owner["host"] != self.owner["host"]:
            return False
        if owner["pid"] == self.owner["pid"]:
            with self._cv:
                return status["id"] not in self._running and all(j.id != status["id"] for j in self._queue)
        try:
            return abs(psutil.Process(owner["pid"]).create_time() - owner["started"]) > 0.01
        except psutil.Error:
            return True

    def _not_found(self, job_id: str) -> NotFoundError:
        s = self.settings
        return NotFoundError(
            f"no job '{job_id}' here: it was deleted, or finished more than SHAPSERVE_JOB_TTL ({s.job_ttl:g} s) "
            "ago, or was evicted to keep the finished results within SHAPSERVE_JOB_STORED_ROWS "
            f"({s.job_stored_rows} rows), or another server accepted it. Jobs live in the jobs directory "
            "of the server that accepted them, shared by its workers; a job whose worker restarts before "
            "it finishes is lost"
        )

    def _page(self, status: dict[str, Any], offset: int, limit: int) -> dict[str, Any]:
        """Rows ``offset`` to ``offset + limit`` of a done job's result, in ``/explain``'s shape."""
        explainer = self.core.explainer
        part = self.store.page(status["id"], offset, limit)
        proba = part.get("probabilities")
        exp = Explanation(
            values=part["values"],
            base_values=np.asarray(explainer.expected_values, dtype=np.float64),
            outputs=part["outputs"],
            features=explainer.features,
            classes=explainer.classes,
            output_space=explainer.output_space,
            scorer=explainer.scorer.name,
            error_estimate=error_estimate_of(part),
        )
        result = answers.explanation(
            answers.prediction(part["predictions"], proba, explainer.classes), proba, exp, status["top_k"]
        )
        end = offset + len(part["predictions"])
        page = {
            "offset": offset,
            "limit": limit,
            "rows": end - offset,
            "next_offset": end if end < status["rows"] else None,
        }
        return {"result": result, "page": page}

    def sweep(self) -> None:
        """Forget finished jobs past their time to live, then the oldest done ones beyond the stored rows
        (never the newest)."""
        now, s = time.time(), self.settings
        done = []
        for status in self.store.all():
            finished = status["finished_at"]
            if finished is None:
                continue
            if finished + s.job_ttl < now:
                self.store.remove(status["id"])
            elif status["status"] == "done":
                done.append(status)
        done.sort(key=lambda st: st["finished_at"])
        stored = sum(st["rows"] for st in done)
        for status in done[:-1]:
            if stored <= s.job_stored_rows:
                break
            if self.store.remove(status["id"]):
                stored -= status["rows"]

    # -- running ----------------------------------------------------------------------------------------
    def _check_room(self) -> None:
        if self._closed:
            raise NotReadyError("the server is shutting down; submit the job again shortly")
        if len(self._queue) >= self.settings.max_queued_jobs:
            raise OverloadedError(
                f"{len(self._queue)} jobs are already queued in this worker (SHAPSERVE_MAX_QUEUED_JOBS); "
                "retry shortly"
            )

    def _show(self) -> None:
        labels = self.core.labels
        JOBS.labels(**labels, status="queued").set(len(self._queue))
        JOBS.labels(**labels, status="running").set(len(self._running))

    def _runner(self) -> None:
        while True:
            with self._cv:
                if not self._queue and not self._closed:
                    self._cv.wait(timeout=SWEEP_SECONDS)
                if self._closed:
                    return
                job = self._queue.popleft() if self._queue else None
                if job is not None:
                    self._running[job.id] = job
                    self._show()
            if job is None:
                self.sweep()
                continue
            try:
                self._execute(job)
            finally:
                with self._cv:
                    self._running.pop(job.id, None)
                    self._show()
                job.frame = None

    def _execute(self, job: Job) -> None:
        try:
            self._set(job, status="running", started_at=time.time())
            parts = self._explain(job)
            if parts is None:
                self._finish(job, "cancelled")
                return
            self._keep_result(job, parts)
            self._finish(job, "done")
        except JobGone:
            self._finish(job, "cancelled")
        except Exception as exc:  # noqa: BLE001 - a failed job, reported in its status
            if job.cancel.is_set():
                self._finish(job, "cancelled")
                return
            _, body, _ = errors.describe(exc)  # an internal error is logged under a request id
            self._finish(job, "failed", body)

    def _explain(self, job: Job) -> list[dict[str, Any]] | None:
        """The job's rows explained slice by slice in a job process; None once it is cancelled."""
        assert job.frame is not None
        n, lo, size = len(job.frame), 0, FIRST_CHUNK
        parts = []
        while lo < n:
            if job.cancel.is_set() or not self.store.exists(job.id):
                return None
            hi = slice_end(lo, min(size, MAX_CHUNK), n)  # whole blocks: the bits /explain gives
            t0 = time.perf_counter()
            parts.append(self._in_process(process.explain, job.frame.iloc[lo:hi], job.error_estimate))
            size = int((hi - lo) / max(time.perf_counter() - t0, 1e-9) * CHUNK_SECONDS)
            lo = hi
            self._set(job, rows_done=lo)
        return parts

    def _keep_result(self, job: Job, parts: list[dict[str, Any]]) -> None:
        from batch.aggregate import global_explanation

        explainer = self.core.explainer
        values = np.concatenate([p["values"] for p in parts])
        estimates = [p["error_estimate"] for p in parts]
        whole = {
            "values": values,
            "outputs": np.concatenate([p["outputs"] for p in parts]),
            "proba": np.concatenate([p["proba"] for p in parts]) if parts[0]["proba"] is not None else None,
            "error_estimate": ErrorEstimate.concat(estimates) if estimates[0] is not None else None,
        }
        labels = [v.item() if isinstance(v, np.generic) else v for p in parts for v in p["pred"]]
        self.store.save_result(job.id, result_arrays(whole), labels)
        glob = global_explanation(explainer, [np.abs(values).sum(axis=0)], len(values))
        job.status["global"] = answers.global_body(glob, None)
        ROWS.labels(**self.core.labels, endpoint="explain_jobs").inc(len(values))

    def _set(self, job: Job, **changes: Any) -> None:
        with job.lock:
            if job.final:
                raise JobGone(job.id)
            job.status.update(changes)
            self.store.write(job.status)

    def _finish(self, job: Job, status: str, error: dict[str, Any] | None = None) -> None:
        with job.lock:
            if job.final:
                return
            job.final = True
            if status == "cancelled":
                self.store.remove(job.id)
            else:
                job.status.update(status=status, finished_at=time.time(), error=error)
                try:
                    self.store.write(job.status)
                except JobGone:
                    status = "cancelled"
        job.frame = None
        JOBS_FINISHED.labels(**self.core.labels, status=status).inc()
        if status == "done":
            self.sweep()

    def _in_process(self, fn: Any, *args: Any) -> Any:
        """``fn(*args)`` in a job process, started on first use."""
        pool = self._pool_now()
        try:
            return pool.submit(fn, *args).result()
        except BrokenProcessPool:
            with self._pool_lock:
                if self._pool is pool:
                    self._pool = None
            pool.shutdown(wait=False, cancel_futures=True)
            raise RuntimeError("a job process ended unexpectedly (out of memory?)") from None

    def _pool_now(self) -> ProcessPoolExecutor:
        with self._pool_lock:
            if self._closed:
                raise NotReadyError("the server is shutting down; submit the job again shortly")
            if self._pool is None:
                s = self.settings
                self._pool = ProcessPoolExecutor(
                    s.job_concurrency,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=process.init,
                    initargs=(str(self.core.artifact_dir), s.trust_pickle, s.model_sha256, s.max_job_rows),
                )
            return self._pool


def _page_args(offset: Any, limit: Any) -> tuple[int, int]:
    """``offset`` (from 0) and ``limit`` (1 to MAX_PAGE rows) of a query string."""
    first = DEFAULT_OFFSET if offset is None else _whole(offset, "offset", "0 or more")
    size = DEFAULT_PAGE if limit is None else _whole(limit, "limit", f"1 to {MAX_PAGE}")
    if not 1 <= size <= MAX_PAGE:
        raise engine_errors.InputError(
            f"expected an integer from 1 to {MAX_PAGE}, got {limit!r}", field="limit"
        )
    return first, size


def _whole(value: Any, name: str, expected: str) -> int:
    number = query_integer(value)  # the one rule of a query string's integer (scorers.top_k)
    if number is None:
        raise engine_errors.InputError(f"expected an integer from {expected}, got {value!r}", field=name)
    return number
