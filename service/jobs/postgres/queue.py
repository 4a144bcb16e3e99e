"""The jobs queue of one worker on pgqueuer: claims, leases (heartbeats), cancellation, hand-back.

pgqueuer's ``QueueManager`` runs in a thread of its own with its own event loop.  A claimed job is
``picked`` with a heartbeat that the manager renews every half lease while the job runs; a job whose
heartbeat is older than the lease (its process died: SIGKILL, node loss, a cut network) is picked again
by the next worker that polls, on any server.  ``handler(job_id, stopping)`` runs a job in a thread and
answers whether it finished (True) or was handed back (False: re-queued at once, for any worker).
``cancel`` removes a queued job from the queue and tells the worker running it (NOTIFY).
pgqueuer never reconnects: when the database restarts or the route to it is cut, the manager's connection
breaks and ``run`` raises; the queue starts again on new connections (``_main``, backing off from 0.25 s to
5 s), and the jobs whose hand-back could not be written are claimed again once their leases run out.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import psycopg
from pgqueuer import Job, PsycopgDriver, Queries, QueueManager, RetryRequested

ENTRYPOINT = "shapserve_explain_job"
RECONNECT_FIRST = 0.25  # seconds before the first attempt to reconnect, doubled per failed one ...
RECONNECT_SECONDS = 5.0  # ... up to this
LOCK_KEY = 0x5348_5051  # pg_advisory_lock key of pgqueuer's install, for servers starting together

log = logging.getLogger("shapserve.jobs")


class JobQueue:
    def __init__(
        self,
        conninfo: str,
        handler: Callable[[str, threading.Event], bool],
        concurrency: int,
        lease: float,
    ) -> None:
        self.conninfo = conninfo
        self.handler = handler
        self.concurrency = concurrency
        self.lease = timedelta(seconds=lease)
        self.stopping = threading.Event()  # set at shutdown: running jobs are handed back
        self._loop = asyncio.new_event_loop()
        self._stop = asyncio.Event()  # the same, for the loop
        # the jobs' threads (a cancelled job's thread runs on until its next slice's commit fails)
        self._threads = concurrent.futures.ThreadPoolExecutor(
            2 * concurrency + 2, thread_name_prefix="shapserve-job"
        )
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._qm: QueueManager | None = None
        self._served = False  # whether the current connection got as far as claiming jobs
        self._thread = threading.Thread(target=self._main, name="shapserve-job-queue", daemon=True)
        self._thread.start()
        self._ready.wait(60)
        if self._failed is not None:
            raise RuntimeError(f"the jobs queue did not start: {self._failed}") from self._failed

    def _main(self) -> None:
        asyncio.set_event_loop(self._loop)
        delay = RECONNECT_FIRST
        while not self.stopping.is_set():
            try:
                self._loop.run_until_complete(self._serve())
                return  # shut down
            except BaseException as exc:  # noqa: BLE001 - reported to the constructor, or retried
                if not self._ready.is_set():
                    self._failed = exc
                    self._ready.set()
                    return
                # the database restarted or the network was cut: every connection of this queue is
                # broken (psycopg does not reconnect one), so start again on new ones once it answers,
                # backing off; meanwhile this worker's heartbeats stop, and its jobs' leases run out
                delay = RECONNECT_FIRST if self._served else min(2 * delay, RECONNECT_SECONDS)
                self._served = False
                log.warning("the jobs queue lost its database (%s); reconnecting in %g s", exc, delay)
                self.stopping.wait(delay)

    async def _serve(self) -> None:
        """Install pgqueuer's schema if needed, then claim and run jobs until shutdown; raises when the
        database fails (the queue's connections are closed on the way out)."""
        async with (
            await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn,
            await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as side,
        ):
            queries = Queries(PsycopgDriver(conn))
            await queries.driver.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
            try:
                if not await queries.schema_is_installed():
                    await queries.install()
            finally:
                await queries.driver.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            self._queries = Queries(PsycopgDriver(side))  # enqueue and cancel: beside the manager's
            qm = QueueManager(queries)
            qm.entrypoint(ENTRYPOINT)(self._run)
            self._qm = qm
            self._ready.set()
            self._served = True
            await qm.run(
                dequeue_timeout=self.lease
                / 4,  # polls: a job whose lease ran out is seen within a quarter lease
                batch_size=1,
                max_concurrent_tasks=max(2, self.concurrency),
                heartbeat_timeout=self.lease,
            )

    async def _run(self, job: Job) -> None:
        assert job.payload is not None
        job_id = job.payload.decode()
        work = self._loop.run_in_executor(self._threads, self.handler, job_id, self.stopping)
        stop = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait((work, stop), return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if work.done() and work.result():
            return
        # shutting down, or the database failed the job's work: back to the queue at once; a slice still
        # computing here is committed only if no other worker has committed those rows first
        # (tables.commit_slice); with the database still down, the hand-back fails too and the job's lease
        # runs out instead
        why = "at shutdown" if self.stopping.is_set() else "after a database error"
        raise RetryRequested(delay=timedelta(0), reason=f"handed back {why}")

    def _call(self, coro: Any) -> Any:
        """Run ``coro`` on the queue's loop; a database error (503) while the queue reconnects."""
        if not self._served:
            coro.close()
            raise psycopg.OperationalError("the jobs queue is reconnecting to its database")
        try:
            return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout=30)
        except concurrent.futures.TimeoutError as exc:
            raise psycopg.OperationalError("the jobs queue's database did not answer within 30 s") from exc

    def enqueue(self, job_id: str) -> int:
        ids = self._call(self._queries.enqueue(ENTRYPOINT, job_id.encode()))
        return int(ids[0])

    def cancel(self, queue_id: int) -> None:
        from pgqueuer.models import JobId

        self._call(self._queries.mark_job_as_cancelled([JobId(queue_id)]))

    def close(self, timeout: float = 10.0) -> None:
        """Hand the running jobs back (re-queued), then stop claiming and end the thread."""
        self.stopping.set()
        self._loop.call_soon_threadsafe(self._stop.set)
        if self._qm is not None:
            qm = self._qm

            async def drain() -> None:
                # the handed-back jobs' retries are written by their tasks before they end
                for _ in range(int(timeout / 0.05)):
                    if not qm.job_context:
                        break
                    await asyncio.sleep(0.05)
                qm.shutdown.set()

            try:
                self._call(drain())
            except Exception:  # noqa: BLE001 - the loop has already stopped
                log.exception("the jobs queue did not drain")
        self._thread.join(timeout)
        self._threads.shutdown(wait=False, cancel_futures=True)
