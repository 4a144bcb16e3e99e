"""Nothing lost under load, nothing half-written after a crash: real processes on a real database.

* several processes upload at once, starting on an empty database (so they also race to migrate it):
  every upload lands, counted;
* a process killed with SIGKILL in the middle of uploading a large explanation (at a fixed point inside
  the transaction, and at a random moment of a stream of uploads) leaves every stored explanation
  whole and the store usable.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pg_server import settled, tagged
from sqlalchemy import func, select
from store_worker import CLASSES, FEATURES

from store import DatabaseExplanationClient, ExplanationStore
from store.models import ArrayRow, ExplanationRow

WORKER = Path(__file__).with_name("store_worker.py")
LARGE_ROWS = 20_000  # 20,000 x 3 x 30 float64 = 14.4 MB of values


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WORKER), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=WORKER.parent,
    )


def _line(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """The next stdout line (a worker that dies first fails the test with its stderr)."""
    import selectors

    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)  # type: ignore[arg-type]
    if not sel.select(timeout):
        proc.kill()
        raise AssertionError(f"worker said nothing in {timeout}s")
    line = proc.stdout.readline().strip()  # type: ignore[union-attr]
    if not line:
        raise AssertionError(f"worker exited {proc.wait()}: {proc.stderr.read()[-3000:]}")  # type: ignore[union-attr]
    return line


def _check_whole(store: ExplanationStore) -> list[str]:
    """Every stored explanation decodes whole (its arrays match its checksum); their ids."""
    client = DatabaseExplanationClient(store)
    ids = [m.id for m in store.list()]
    for eid in ids:
        exp = client.download_model_explanation(eid)
        assert exp.values.shape == (exp.n_rows, CLASSES, FEATURES)
        assert exp.values.sum() == pytest.approx(exp.info["checksum"], rel=1e-12)
        np.testing.assert_allclose(exp.outputs, exp.base_values + exp.values.sum(axis=2), atol=1e-9)
    with store.engine.connect() as conn:
        orphans = conn.scalar(
            select(func.count())
            .select_from(ArrayRow)
            .where(ArrayRow.explanation_id.not_in(select(ExplanationRow.id)))
        )
    assert orphans == 0
    return ids


def test_concurrent_uploads_from_several_processes_all_land(store_url):
    n_procs, per_proc = 4, 6
    procs = [_spawn("upload", store_url, str(per_proc), "200", str(p + 1)) for p in range(n_procs)]
    try:
        for p in procs:
            assert _line(p) == "READY"
        for p in procs:  # all start writing together
            p.stdin.write("go\n")  # type: ignore[union-attr]
            p.stdin.flush()  # type: ignore[union-attr]
        said = {p.pid: [_line(p) for _ in range(per_proc)] for p in procs}
        for p in procs:
            assert p.wait(timeout=120) == 0, p.stderr.read()  # type: ignore[union-attr]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    store = ExplanationStore(store_url)
    try:
        ids = _check_whole(store)
        assert store.count() == n_procs * per_proc == len(ids)
        assert sorted(ids) == sorted(i for lines in said.values() for i in lines)
    finally:
        store.close()


@pytest.mark.parametrize("point", ["after-metadata", "before-commit"])
def test_sigkill_inside_the_upload_transaction_leaves_nothing(store_url, point):
    store = ExplanationStore(store_url)
    try:
        before = DatabaseExplanationClient(store).upload_model_explanation(_small())
        url, name = tagged(store_url)
        proc = _spawn("hang", url, str(LARGE_ROWS), "7", point)
        try:
            assert _line(proc) == "IN-TRANSACTION"
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        settled(store_url, name)  # PostgreSQL has ended the killed client's session
        # the killed writer's transaction is gone: the store holds what it held and takes new writes
        assert _check_whole(store) == [before]
        after = DatabaseExplanationClient(store).upload_model_explanation(_small())
        assert [m.id for m in store.list()] == [after, before]
    finally:
        store.close()


def test_sigkill_at_a_random_moment_of_large_uploads(store_url):
    url, name = tagged(store_url)
    proc = _spawn("loop", url, str(LARGE_ROWS // 2), "3")
    said: list[str] = []
    try:
        said.append(_line(proc))  # one whole upload done: the next one is under way
        time.sleep(random.Random(os.getpid()).uniform(0.05, 0.4))
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()  # type: ignore[union-attr]
    said += [line.strip() for line in proc.stdout.read().splitlines() if line.strip()]  # type: ignore[union-attr]
    # on PostgreSQL a client killed just after sending COMMIT still gets its (whole) explanation stored:
    # check once the server has finished with the killed client's session
    settled(store_url, name)
    store = ExplanationStore(store_url)
    try:
        ids = _check_whole(store)
        assert set(said) <= set(ids)  # every upload reported done is stored...
        assert len(ids) <= len(said) + 1  # ...plus at most the one whose report the kill cut off
        DatabaseExplanationClient(store).upload_model_explanation(_small())
        assert store.count() == len(ids) + 1
    finally:
        store.close()


def _small():
    from store_worker import synthetic

    from store import codec

    rec = codec.from_any(synthetic(5, 0))
    return type(rec)(**{**rec.__dict__, "info": {"checksum": float(rec.arrays["values"].sum())}})


def test_concurrent_uploads_from_threads_of_one_process_all_land(store):
    """A server worker runs its sync handlers in a thread pool: one store shared by threads."""
    from concurrent.futures import ThreadPoolExecutor

    from store_worker import synthetic

    from store import codec

    def one(seed: int) -> str:
        rec = codec.from_any(synthetic(50, seed))
        rec = type(rec)(**{**rec.__dict__, "info": {"checksum": float(rec.arrays["values"].sum())}})
        return DatabaseExplanationClient(store).upload_model_explanation(rec)

    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(one, range(40)))
    assert sorted(_check_whole(store)) == sorted(ids) and len(set(ids)) == 40
