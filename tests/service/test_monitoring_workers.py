"""A worker's monitor file under concurrent writers: the flush thread and ``GET /monitoring`` both flush the
same worker's windows (service.monitoring.workers); neither may fail while the other replaces the file, and
the file read back holds every observed row."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import scorers
from scorers.monitoring import baseline
from service.monitoring.workers import WorkerMonitor
from service.settings import Settings


def test_concurrent_flushes_of_one_worker_never_fail_and_keep_every_row(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(200, 4)), columns=list("abcd"))
    y = (x["a"] + x["b"] > 0).astype(int)
    exp = scorers.fit(LogisticRegression().fit(x, y), x)
    frame = exp.validate(x.iloc[:8])
    values = exp.explain_frame(frame).values
    base = baseline.build(
        exp.schema, exp.validate(x), exp.explain_frame(exp.validate(x)).values, exp.classes, "t"
    )
    mon = WorkerMonitor(base, Settings(), tmp_path, {"model": "m", "version": "v"})
    errors: list[BaseException] = []
    rounds, threads = 40, 4

    def work() -> None:
        try:
            for _ in range(rounds):
                mon.monitor.update(frame, values)  # as observe(), without starting the flush thread
                mon.flush()
                mon.report("rows")
        except BaseException as exc:  # noqa: BLE001 - the test reports any failure of a writer
            errors.append(exc)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    mon.flush()
    with np.load(mon.path, allow_pickle=False) as z:
        assert set(z.files) == set(mon.monitor.arrays())
    assert mon.report("hour")["window_rows"] == rounds * threads * len(frame)
