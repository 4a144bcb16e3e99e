"""GET /monitoring on a real server with two workers: every worker's rows are counted, and a shifted
batch raises the drift scores; GET /monitoring/history (every answer recorded) scores the same rows alike
(docs/monitoring.md).  On one worker, the row window after K requests (counted in batches,
scorers/monitoring/pending.py) is exactly the one the same requests counted one by one give.

The server serves the session's gated model (tests/gated_model.py: 4 features, packaged once per session
and shared with test_jobs_process.py; its gate stays open, no sentinel rows are sent), whose baseline
comes from its fit-time check rows: the cheapest model a 2-worker server can load."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from gated_model import FEATURES, Gate, rows
from svc_helpers import eventually, free_port, recording_settled, stop, wait_ready

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY = "monitor-key"


class Server:
    def __init__(self, tag: str, directory: Path, workers: int = 2) -> None:
        self.directory = directory
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            **Gate(directory / "gate").server_env(),
            "BENTOML_DO_NOT_TRACK": "true",
            "SHAPSERVE_WORKERS": str(workers),
            "SHAPSERVE_API_KEY": KEY,
            "SHAPSERVE_MONITORING_DIR": str(directory),
            "SHAPSERVE_MONITORING_WINDOW_ROWS": "2000",
            "SHAPSERVE_MONITORING_FLUSH_SECONDS": "0.2",
            "SHAPSERVE_STORE_URL": f"sqlite:///{directory / 'store.db'}",
            "SHAPSERVE_STORE_RECORD_SAMPLE_RATE": "1",
        }
        self.proc = subprocess.Popen(
            [str(BIN / "shapserve"), "serve", tag, "--port", self.url.rsplit(":", 1)[1]],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def get(self, path: str, **kw: Any) -> httpx.Response:
        return httpx.get(self.url + path, headers={"authorization": f"Bearer {KEY}"}, timeout=30, **kw)

    def explain(self, instances: list[dict[str, float]]) -> dict[str, Any]:
        r = httpx.post(
            self.url + "/explain",
            json={"instances": instances},
            headers={"authorization": f"Bearer {KEY}"},
            timeout=60,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def worker_files(self) -> list[Path]:
        return sorted(self.directory.rglob("*-*.npz"))

    def workers(self) -> set[str]:
        """The workers that have written their windows (a file per worker: ``<server>-<worker pid>.npz``)."""
        return {p.name.split("-")[1] for p in self.worker_files()}


@pytest.fixture(scope="module")
def x_test() -> pd.DataFrame:
    """96 rows of the gated model's training distribution, as the records the API takes."""
    return pd.DataFrame(rows(96, sentinel=False), columns=FEATURES)


def _serving(tag: str, directory: Path, workers: int) -> Iterator[Server]:
    srv = Server(tag, directory, workers)
    try:
        wait_ready(srv.url, srv.proc)
        yield srv
    finally:
        assert stop(srv.proc) in (0, -15)


@pytest.fixture(scope="module")
def server(gated_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from _serving(gated_tag, tmp_path_factory.mktemp("monitoring"), 2)


def _window_rows_reach(server: Server, n: int) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        body = server.get("/monitoring").json()
        if body["window_rows"] >= n or time.monotonic() > deadline:
            return dict(body)
        time.sleep(0.3)


def test_monitoring_counts_every_workers_rows_and_sees_a_shift(server: Server, x_test: pd.DataFrame) -> None:
    assert httpx.get(server.url + "/monitoring", timeout=10).status_code == 401  # behind the API key
    bad = server.get("/monitoring", params={"window": "week"})
    assert bad.status_code == 400 and "window" in bad.text
    records = x_test.to_dict("records")
    batches = [records[i : i + 4] for i in range(0, 96, 4)]  # 24 requests, 96 rows, same distribution
    sent = 0
    # until both workers have answered some: the kernel hands each connection to whichever worker accepts
    # first, which a fast worker may win many times in a row, and a worker's file is written by its flush
    # thread up to SHAPSERVE_MONITORING_FLUSH_SECONDS (0.2 s) after its rows, so rounds go on, each
    # followed by a pause longer than that, until both files are there (CI once saw one worker take all 120
    # requests of a fixed five rounds)
    deadline = time.monotonic() + 90
    with ThreadPoolExecutor(8) as pool:
        while True:
            list(pool.map(server.explain, batches))
            sent += 96
            time.sleep(0.5)
            if len(server.workers()) == 2 or time.monotonic() > deadline:
                break
    assert len(server.workers()) == 2, (sent, server.worker_files())
    before = _window_rows_reach(server, sent)
    assert before["window_rows"] == sent  # every worker's rows, summed
    assert before["window"] == "rows" and set(before["features"]) == set(x_test.columns)
    hour = server.get("/monitoring", params={"window": "hour"}).json()
    assert hour["window_rows"] == sent

    top = max(before["features"], key=lambda f: before["features"][f]["baseline_attribution_share"])
    scale = float(x_test[top].std())
    shifted = [{**r, top: r[top] + 3 * scale} for r in records[:96]]
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(server.explain, [shifted[i : i + 8] for i in range(0, 96, 8)]))
    after = _window_rows_reach(server, sent + 96)
    assert after["window_rows"] == sent + 96
    assert after["features"][top]["input_psi"] > before["features"][top]["input_psi"] + 0.1
    assert after["input_drift"]["score"] > before["input_drift"]["score"]
    assert after["attribution_drift"]["score"] > before["attribution_drift"]["score"]

    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert any(
        ln.startswith("shapserve_monitoring_window_rows") and 'window="rows"' in ln
        for ln in metrics.splitlines()
    )
    assert f'feature="{top}"' in metrics and 'score="attribution_ndcg"' in metrics


def test_history_of_the_recorded_answers_scores_them_like_the_live_window(server: Server) -> None:
    # runs after the test above: its 192+ answers were all recorded (sample rate 1) by both workers
    live = _window_rows_reach(server, 1)
    # the answers are written by each worker's writer thread about every second (store/record_writer.py)
    eventually(lambda: recording_settled(server.get("/metrics").text))
    got = server.get("/monitoring/history", params={"bucket_seconds": "86400", "top": "2"})
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["rows"] == live["window_rows"] == body["overall"]["input_rows"]
    assert sum(b["window_rows"] for b in body["buckets"]) == body["rows"]
    for name, f in live["features"].items():
        h = body["overall"]["features"][name]
        for stat in ("input_psi", "attribution_psi", "attribution_share", "baseline_attribution_share"):
            assert h[stat] == pytest.approx(f[stat], rel=1e-9, abs=1e-12), (name, stat)
    assert body["overall"]["attribution_drift"]["ndcg"] == pytest.approx(live["attribution_drift"]["ndcg"])
    assert len(body["moved"]) == 2
    later = server.get("/monitoring/history", params={"since": "2999-01-01T00:00:00"}).json()
    assert later["rows"] == 0 and later["buckets"] == [] and later["moved"] == []
    for params, field in (
        ({"bucket_seconds": "0"}, "bucket_seconds"),
        ({"bucket_seconds": "hour"}, "bucket_seconds"),
        ({"since": "yesterday"}, "since"),
        ({"top": "1.5"}, "top"),
        ({"since": "2026-01-02", "until": "2026-01-01"}, "until"),
    ):
        bad = server.get("/monitoring/history", params=params)
        assert bad.status_code == 400 and bad.json()["field"] == field, (params, bad.text)


def test_the_row_window_after_k_requests_is_the_per_request_count(
    gated_tag: str, x_test: pd.DataFrame, tmp_path: Path
) -> None:
    import numpy as np

    import scorers
    from cli.bento import artifact_path
    from scorers.monitoring import Monitor, report
    from service.monitoring.workers import thresholds
    from service.settings import Settings

    exp = scorers.load(artifact_path(gated_tag), trust_pickle=True)  # the session's own test model
    base, settings = exp.baseline, Settings()
    assert base is not None
    oracle = Monitor(base, window_rows=2000, block_rows=settings.monitoring_block_rows, fold_rows=1)
    records = x_test.to_dict("records")
    sizes = [1, 3, 1, 1, 2] * 8  # 40 requests, 64 rows: folded in a batch (64 rows) and by the reads
    for srv in _serving(gated_tag, tmp_path, 1):
        start = 0
        for i, n in enumerate(sizes):
            batch = records[start : start + n]
            start += n
            answer = srv.explain(batch)
            values = np.asarray(answer["local_importance_values"], dtype=np.float64)[:, None, :]
            oracle.update(exp.validate(pd.DataFrame(batch)), values)  # counted as it came
            if i in (9, 30):  # a read in the middle
                assert srv.get("/monitoring").json() == {
                    "window": "rows",
                    **report(base, oracle.rows.total(base), thresholds(settings)),
                }
        got = srv.get("/monitoring").json()
    want = report(base, oracle.rows.total(base), thresholds(settings))
    assert got == {"window": "rows", **want} and got["window_rows"] == sum(sizes)
