"""The recorder's background writer (store.record_writer), in-process on SQLite and PostgreSQL: batches,
the bounded queue, a failing store, the flush at close, and retention by age and by rows.  The real
servers' recording under load (SIGTERM, a stopped PostgreSQL) is tested in
tests/service/test_recording_postgres.py."""

from __future__ import annotations

import random
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session
from store_support import explain_answer, iris

from store import ExplanationStore, Filters, StoreSettings
from store.models import ExplanationRow
from store.record_writer import QUEUE_FULL, SAMPLED, SHUTDOWN, STORE_ERROR, WRITTEN, RecordWriter

RECORDED = Filters(source="recorded")


def _settings(**kw: Any) -> StoreSettings:
    base = {
        "store_record_sample_rate": 1.0,
        "store_record_flush_seconds": 3600.0,  # nothing is written before close() unless a batch fills
        "store_record_sweep_seconds": 3600.0,
        "store_record_max_age": 0.0,
    }
    return StoreSettings(**{**base, **kw})  # type: ignore[arg-type]


class Counts:
    def __init__(self) -> None:
        self.c: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, event: str, n: int) -> None:
        with self.lock:
            self.c[event] += n


def _answer(n: int = 2) -> dict[str, Any]:
    explainer, x = iris()
    return explain_answer(explainer, x.iloc[:n])


def test_samples_are_written_in_batches_and_flushed_at_close(store: ExplanationStore) -> None:
    counts = Counts()
    writer = RecordWriter(
        lambda: store, _settings(store_record_sample_rate=0.5, store_record_batch=1000), counts,
        model_name="m", model_version="v1", rng=random.Random(1),
    )  # fmt: skip
    answer = _answer()
    queued = sum(writer.offer(answer) for _ in range(40))
    assert 0 < queued < 40 and counts.c[SAMPLED] == queued  # sampled at about half
    assert store.count(RECORDED) == 0  # queued in memory, not written on the request's path
    writer.close()
    assert counts.c == Counter({SAMPLED: queued, WRITTEN: queued})
    metas = store.list(RECORDED)
    assert len(metas) == queued and len({m.request_id for m in metas}) == queued  # each exactly once
    assert all(m.model_name == "m" and m.model_version == "v1" and m.n_rows == 2 for m in metas)
    assert not any(writer.offer(answer) for _ in range(10))  # a closed writer takes nothing...
    assert counts.c[SHUTDOWN] == counts.c[SAMPLED] - queued > 0  # ...and counts what it refused


def test_a_full_batch_is_written_without_waiting_for_the_interval(store: ExplanationStore) -> None:
    counts = Counts()
    writer = RecordWriter(lambda: store, _settings(store_record_batch=3), counts)
    answer = _answer()
    for _ in range(3):
        assert writer.offer(answer)
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while store.count(RECORDED) < 3 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
        assert store.count(RECORDED) == 3 and counts.c[WRITTEN] == 3
    finally:
        writer.close()


def test_the_queue_is_bounded_in_rows_and_a_failing_store_drops_and_counts(store: ExplanationStore) -> None:
    counts = Counts()
    broken = threading.Event()

    def open_store() -> ExplanationStore:
        if broken.is_set():
            raise ConnectionError("the database is down")
        return store

    writer = RecordWriter(open_store, _settings(store_record_queue_rows=5, store_record_batch=1000), counts)
    broken.set()
    results = [writer.offer(_answer(2)) for _ in range(4)]
    assert results == [True, True, False, False]  # 2 + 2 rows fit in 5, a third answer does not
    writer.close()  # the batch fails: dropped and counted, never retried
    assert counts.c == Counter({SAMPLED: 4, QUEUE_FULL: 2, STORE_ERROR: 2})
    broken.clear()
    again = RecordWriter(open_store, _settings(store_record_batch=1000), counts)
    assert again.offer(_answer(2))
    again.close()  # the store answers again: recording resumes
    assert counts.c[WRITTEN] == 1 and store.count(RECORDED) == 1


def test_close_drops_and_counts_what_it_cannot_write_in_time(store: ExplanationStore) -> None:
    counts = Counts()
    release = threading.Event()

    def slow_store() -> ExplanationStore:
        release.wait(60)
        return store

    writer = RecordWriter(slow_store, _settings(store_record_batch=1), counts)
    for _ in range(3):
        writer.offer(_answer(1))
    writer.close(timeout=0.2)  # the writer is stuck in its first batch: the queued rest is dropped
    release.set()
    assert counts.c[SHUTDOWN] == 2 and counts.c[SAMPLED] == 3


def test_retention_deletes_by_age_then_beyond_the_row_limit(store: ExplanationStore) -> None:
    counts = Counts()
    answer = _answer(1)
    seed = RecordWriter(lambda: store, _settings(store_record_batch=1000), counts)
    for _ in range(6):
        seed.offer(answer)
    seed.close()
    ids = [m.id for m in store.list(RECORDED)]
    old, young = ids[:2], ids[2:]
    with Session(store.engine) as s, s.begin():  # two answers recorded two days ago
        s.execute(
            update(ExplanationRow)
            .where(ExplanationRow.id.in_(old))
            .values(created=datetime.now(UTC) - timedelta(days=2))
        )
    sweeper = RecordWriter(
        lambda: store,
        _settings(
            store_record_max_age=3600.0, store_record_retention_rows=3, store_record_sweep_seconds=0.05
        ),
        counts,
    )
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=60)
        while store.count(RECORDED) > 3 and datetime.now(UTC) < deadline:
            threading.Event().wait(0.02)
    finally:
        sweeper.close()
    kept = [m.id for m in store.list(RECORDED)]
    assert not set(kept) & set(old)  # older than the age: deleted
    assert kept == young[:3]  # then beyond the row limit: the newest 3 of the others are kept
