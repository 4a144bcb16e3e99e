"""Recording under load: sampled ``/explain`` answers written in batches by one background thread.

A request only draws its sample and, when sampled, appends the answer to this worker's queue
(:meth:`RecordWriter.offer`: no database call, no encoding). The queue is bounded in **rows**
(``store_record_queue_rows``), so its memory is bounded whatever the requests' sizes; a sample that does
not fit is dropped and counted. The writer thread encodes the queued answers and commits them
``store_record_batch`` at a time, one transaction per batch, at least every ``store_record_flush_seconds``.
A batch whose commit fails (the database is down or unreachable) is dropped and counted, never retried,
so no answer is ever written twice; the thread waits a second before its next attempt, and the queue
fills and drops meanwhile. :meth:`RecordWriter.close` (the worker's shutdown, SIGTERM) writes what is
queued within ``store_record_shutdown_seconds``, so nothing accepted is lost on a clean shutdown while the
database answers. Every ``store_record_sweep_seconds`` the thread also deletes recorded answers older than
``store_record_max_age`` and those beyond ``store_record_retention_rows`` (retention).

Outcomes are reported through ``count(event, n)``: ``SAMPLED``, ``WRITTEN``, and the drops
``QUEUE_FULL``, ``STORE_ERROR``, ``SHUTDOWN``. Every sampled answer ends in exactly one of the others.
"""

from __future__ import annotations

import logging
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import numpy.typing as npt

from .recorder import encode
from .repository import RECORDED, ExplanationStore, NewRow
from .settings import StoreSettings

log = logging.getLogger("shapserve.store")

SAMPLED = "sampled"
WRITTEN = "written"
QUEUE_FULL = "queue_full"
STORE_ERROR = "store_error"
SHUTDOWN = "shutdown"
DROPS = (QUEUE_FULL, STORE_ERROR, SHUTDOWN)
RETRY_SECONDS = 1.0  # the pause after a failed commit or sweep


@dataclass(frozen=True)
class Sample:
    answer: dict[str, Any]
    request_id: str
    rows: int
    inputs: npt.NDArray[Any] | None = None  # the rows coded by the monitoring baseline (store.drift)
    served: datetime = field(default_factory=lambda: datetime.now(UTC))  # stored as the record's time


class RecordWriter:
    """One worker's recording queue and its writer thread (started at construction)."""

    def __init__(
        self,
        open_store: Callable[[], ExplanationStore],
        settings: StoreSettings,
        count: Callable[[str, int], None],
        *,
        model_name: str | None = None,
        model_version: str | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._open_store = open_store
        self.s = settings
        self._count = count
        self._meta = NewRow(source=RECORDED, model_name=model_name, model_version=model_version)
        self._rng = rng or random.Random()
        self._queue: deque[Sample] = deque()
        self._queued_rows = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="shapserve-recorder", daemon=True)
        self._thread.start()

    # -- the request's side ---------------------------------------------------------------------------
    def offer(
        self, answer: dict[str, Any], inputs: Callable[[], npt.NDArray[Any] | None] | None = None
    ) -> bool:
        """Draw the sample; queue ``answer`` when sampled and it fits. True when queued. ``inputs``
        codes the answer's rows for drift over time; it is called only for a sampled answer."""
        if self._rng.random() >= self.s.store_record_sample_rate:
            return False
        self._count(SAMPLED, 1)
        rows = max(1, len(answer.get("predictions") or ()))
        coded = None if inputs is None else inputs()  # outside the lock: the other workers' threads wait
        with self._cond:
            if self._stopping or self._queued_rows + rows > self.s.store_record_queue_rows:
                self._count(SHUTDOWN if self._stopping else QUEUE_FULL, 1)
                return False
            self._queue.append(Sample(answer, uuid.uuid4().hex[:16], rows, coded))
            self._queued_rows += rows
            if len(self._queue) >= self.s.store_record_batch:
                self._cond.notify()
        return True

    @property
    def queued(self) -> int:
        with self._cond:
            return len(self._queue)

    def close(self, timeout: float | None = None) -> None:
        """Stop taking samples, write the queued ones (within ``timeout``, default the setting), stop."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(self.s.store_record_shutdown_seconds if timeout is None else timeout)
        with self._cond:
            left = len(self._queue)
            self._queue.clear()
            self._queued_rows = 0
        if left:
            log.warning("recording: %d sampled answers dropped at shutdown (not written in time)", left)
            self._count(SHUTDOWN, left)

    # -- the writer thread ----------------------------------------------------------------------------
    def _run(self) -> None:
        next_sweep = time.monotonic() + self.s.store_record_sweep_seconds
        while True:
            batch = self._next_batch(next_sweep)
            if batch:
                self._write(batch)
            with self._cond:
                if self._stopping and not self._queue:
                    return
            if time.monotonic() >= next_sweep and not self._stopping:
                self._sweep()
                next_sweep = time.monotonic() + self.s.store_record_sweep_seconds

    def _next_batch(self, next_sweep: float) -> list[Sample]:
        """Wait for a full batch, the flush interval, the sweep or the stop; take up to one batch."""
        deadline = time.monotonic() + self.s.store_record_flush_seconds
        with self._cond:
            while not self._stopping and len(self._queue) < self.s.store_record_batch:
                left = min(deadline, next_sweep) - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            take = min(len(self._queue), self.s.store_record_batch)
            batch = [self._queue.popleft() for _ in range(take)]
            self._queued_rows -= sum(b.rows for b in batch)
        return batch

    def _write(self, batch: list[Sample]) -> None:
        records, rows = [], []
        for sample in batch:
            try:
                records.append(encode(sample.answer, sample.inputs))
                rows.append(replace(self._meta, request_id=sample.request_id, created=sample.served))
            except Exception:  # noqa: BLE001 - a malformed answer is dropped, the others are written
                log.exception("recording: could not encode the answer of request %s", sample.request_id)
                self._count(STORE_ERROR, 1)
        if not records:
            return
        try:
            self._open_store().add_many(records, rows)
        except Exception as exc:  # noqa: BLE001 - recording is best effort: the answers were served
            log.warning("recording: %d sampled answers dropped, the store failed: %s", len(records), exc)
            self._count(STORE_ERROR, len(records))
            self._pause()
            return
        self._count(WRITTEN, len(records))

    def _sweep(self) -> None:
        """Retention: recorded answers older than the maximum age, then beyond the row limit."""
        try:
            store = self._open_store()
            old = store.delete_older(self.s.store_record_max_age) if self.s.store_record_max_age > 0 else 0
            over = store.trim(self.s.store_record_retention_rows, source=RECORDED)
        except Exception as exc:  # noqa: BLE001 - the next sweep tries again
            log.warning("recording: the retention sweep failed: %s", exc)
            return
        if old or over:
            log.info("recording: retention deleted %d answers by age and %d beyond the row limit", old, over)

    def _pause(self) -> None:
        with self._cond:
            if not self._stopping:
                self._cond.wait(RETRY_SECONDS)
