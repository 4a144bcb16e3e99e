"""Against a real server of two workers: a request over its time budget answers our 504 shape and its
work stops; a client that disconnects stops its work (the workers' CPU returns to idle); jobs are read
by every worker, and a job whose worker is killed is reported lost by another while its job process
exits too; /metrics counts jobs, rows in flight and disconnects."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from svc_helpers import additivity_error, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUDGET = 5  # SHAPSERVE_REQUEST_TIMEOUT of the server, seconds
BIG = 8000  # rows of a synchronous explain: about 2 ms each for this SVC, far beyond the budget
IDLE_CPU = 0.3  # CPU seconds the workers may use in an idle window of 1.5 s (computing would be ~1.5)
pytestmark = pytest.mark.slow


class Server:
    def __init__(self, tag: str, jobs_dir: Path, log: Path) -> None:
        self.jobs_dir = jobs_dir
        self.model, self.version = tag.split(":")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            "BENTOML_DO_NOT_TRACK": "true",
            "SHAPSERVE_WORKERS": "2",
            "SHAPSERVE_REQUEST_TIMEOUT": str(BUDGET),
            "SHAPSERVE_MAX_ROWS": str(BIG),
            "SHAPSERVE_MAX_INFLIGHT_ROWS": str(BIG),
            "SHAPSERVE_JOBS_DIR": str(jobs_dir),
        }
        self.proc = subprocess.Popen(
            [str(BIN / "shapserve"), "serve", tag, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def workers(self) -> list[psutil.Process]:
        children = psutil.Process(self.proc.pid).children(recursive=True)
        return [p for p in children if "_bentoml_impl.worker" in " ".join(p.cmdline())]

    def workers_cpu(self) -> float:
        total = 0.0
        for p in self.workers():
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.Error:
                pass
        return total

    def idle_cpu(self, settle: float = 0.5, window: float = 1.5) -> float:
        """The workers' CPU seconds over ``window`` seconds, ``settle`` seconds from now."""
        time.sleep(settle)
        before = self.workers_cpu()
        time.sleep(window)
        return self.workers_cpu() - before

    def status_file(self, job_id: str) -> dict[str, Any]:
        return dict(json.loads((self.jobs_dir / self.model / self.version / job_id / "job.json").read_text()))


@pytest.fixture(scope="module")
def server(packaged: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("jobs-server")
    srv = Server(packaged["svc"], tmp / "jobs", tmp / "server.log")
    try:
        wait_ready(srv.url, srv.proc)
        deadline = time.monotonic() + 60
        while len(srv.workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        yield srv
    finally:
        stop(srv.proc)


def _rows(n: int) -> list[list[float]]:
    sample = json.loads((ROOT / "examples" / "breast_cancer_request.json").read_text())["instances"]
    return [sample[i % len(sample)] for i in range(n)]


def _serves(srv: Server) -> None:
    r = httpx.post(srv.url + "/explain", json={"instances": _rows(2)}, timeout=30)
    assert r.status_code == 200 and additivity_error(r.json()) < 1e-6


def test_over_the_time_budget_the_answer_is_ours_and_the_work_stops(server: Server) -> None:
    t0 = time.monotonic()
    r = httpx.post(server.url + "/explain", json={"instances": _rows(BIG)}, timeout=60)
    assert r.status_code == 504, r.text[:500]
    assert r.headers["content-type"] == "application/json"
    assert r.json() == {
        "error": f"the request took longer than its time budget of {BUDGET} s",
        "kind": "timeout",
        "row": None,
        "field": None,
    }
    assert time.monotonic() - t0 < BUDGET + 5  # ours, not BentoML's backstop at BUDGET + 10
    idle = server.idle_cpu()
    assert idle < IDLE_CPU, f"the workers used {idle:.2f} s of CPU in 1.5 s after the 504"
    _serves(server)


def test_a_client_that_disconnects_stops_the_work(server: Server) -> None:
    before = server.workers_cpu()
    with pytest.raises(httpx.ReadTimeout):  # the client gives up after 2 s and closes its connection
        httpx.post(server.url + "/explain", json={"instances": _rows(BIG)}, timeout=httpx.Timeout(30, read=2))
    busy = server.workers_cpu() - before
    assert busy > IDLE_CPU, f"the request was not computed while the client waited ({busy:.2f} s of CPU)"
    # well before the time budget (5 s) would end it, the workers are idle again
    idle = server.idle_cpu()
    assert idle < IDLE_CPU, f"the workers used {idle:.2f} s of CPU in 1.5 s after the client had gone"
    _serves(server)
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert any(
        ln.startswith("shapserve_errors_total") and 'kind="client_disconnected"' in ln
        for ln in metrics.splitlines()
    )
    assert any(
        ln.startswith("shapserve_requests_total") and 'status="499"' in ln and 'route="POST /explain"' in ln
        for ln in metrics.splitlines()
    )
    assert "shapserve_inflight_rows" in metrics


def test_jobs_are_read_by_every_worker_and_lost_with_theirs(server: Server) -> None:
    r = httpx.post(server.url + "/explain_jobs", json={"instances": _rows(40_000)}, timeout=60)
    assert r.status_code == 202, r.text
    job = r.json()
    status: dict[str, Any] = job
    deadline = time.monotonic() + 120
    while status["rows_done"] == 0 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()
    assert status["status"] == "running" and status["rows_done"] > 0, status
    for _ in range(10):  # fresh connections: whichever worker answers, the same job
        seen = httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()
        assert seen["id"] == job["id"] and seen["status"] == "running" and seen["rows"] == 40_000
    owner = psutil.Process(server.status_file(job["id"])["owner"]["pid"])
    assert owner in server.workers()
    job_processes = [p for p in owner.children() if p.nice() > 0]
    assert job_processes, [p.cmdline() for p in owner.children()]
    owner.send_signal(signal.SIGKILL)
    # the other worker answers: the job is lost, and says why
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            lost = httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()
            if lost["status"] == "failed":
                break
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    assert lost["status"] == "failed" and lost["error"]["kind"] == "job_lost", lost
    assert f"(pid {owner.pid}) ended before the job did" in lost["error"]["error"]
    # the killed worker's job process leaves on its own
    gone, alive = psutil.wait_procs(job_processes, timeout=15)
    assert not alive, [p.pid for p in alive]
    assert httpx.delete(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()["status"] == "failed"
    assert httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).status_code == 404
    # a new job runs to the end, on whichever worker takes it
    wait_ready(server.url, server.proc)
    r = httpx.post(server.url + "/explain_jobs", json={"instances": _rows(50), "top_k": 2}, timeout=60)
    assert r.status_code == 202, r.text
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        done = httpx.get(f"{server.url}{r.headers['location']}", timeout=10).json()
        if done["status"] == "done":
            break
        time.sleep(0.2)
    assert done["status"] == "done" and done["page"]["rows"] == 50
    assert additivity_error(done["result"]) < 1e-6 and len(done["result"]["ranked"]) == 50
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    finished = [ln for ln in metrics.splitlines() if ln.startswith("shapserve_jobs_finished_total")]
    assert any('status="done"' in ln and float(ln.split()[-1]) >= 1 for ln in finished), finished
    assert any(ln.startswith("shapserve_jobs{") for ln in metrics.splitlines())
    assert 'route="POST /explain_jobs",status="202"' in metrics.replace(", ", ",")
