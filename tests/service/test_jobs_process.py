"""Against a real server of two workers: a request over its time budget answers our 504 shape and its
work stops; a client that disconnects stops its work; jobs are read by every worker, and a job whose
worker is killed is reported lost by another while its job process exits too; /metrics counts jobs, rows
in flight and disconnects.

The served model is gated (tests/gated_model.py): a request of sentinel rows stays inside the model for
exactly as long as the test keeps the gate closed, and the model's calls count the work done for it, so
nothing here depends on how fast the machine computes."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest
from gated_model import Gate, metric_value, rows, wait_metric
from svc_helpers import additivity_error, free_port, stop, wait_ready

from service.jobs.manager import FIRST_CHUNK

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUDGET = 5  # SHAPSERVE_REQUEST_TIMEOUT of the server, seconds
N = 64  # sentinel rows of a synchronous explain: its whole explanation is many slices of 4 rows
MAX_ROWS = 1000
INFLIGHT = "shapserve_inflight_rows"
pytestmark = pytest.mark.slow


class Server:
    def __init__(self, tag: str, jobs_dir: Path, gate: Gate, log: Path) -> None:
        self.jobs_dir = jobs_dir
        self.gate = gate
        self.model, self.version = tag.split(":")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            **gate.server_env(),
            "BENTOML_DO_NOT_TRACK": "true",
            "SHAPSERVE_WORKERS": "2",
            "SHAPSERVE_REQUEST_TIMEOUT": str(BUDGET),
            "SHAPSERVE_MAX_ROWS": str(MAX_ROWS),
            "SHAPSERVE_MAX_INFLIGHT_ROWS": str(MAX_ROWS),
            "SHAPSERVE_JOBS_DIR": str(jobs_dir),
        }
        self.proc = subprocess.Popen(
            [str(BIN / "shapserve"), "serve", tag, "--port", str(self.port)],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def workers(self) -> list[psutil.Process]:
        children = psutil.Process(self.proc.pid).children(recursive=True)
        return [p for p in children if "_bentoml_impl.worker" in " ".join(p.cmdline())]

    def metrics(self) -> str:
        return httpx.get(self.url + "/metrics", timeout=10).text

    def rows_computed_once_stopped(self, since: int) -> int:
        """Open the gate, wait until no rows are in flight (the row budget is held until the work has
        stopped, also after the answer), and return the rows the model computed in gated calls since
        the ``since``-th one."""
        self.gate.open()
        wait_metric(self.url, INFLIGHT, lambda v: v == 0)
        return sum(n for _, n in self.gate.calls()[since:])

    def status_file(self, job_id: str) -> dict[str, Any]:
        return dict(json.loads((self.jobs_dir / self.model / self.version / job_id / "job.json").read_text()))


@pytest.fixture(scope="module")
def server(gated_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("jobs-server")
    srv = Server(gated_tag, tmp / "jobs", Gate(tmp / "gate"), tmp / "server.log")
    try:
        wait_ready(srv.url, srv.proc)
        deadline = time.monotonic() + 60
        while len(srv.workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.5)
        yield srv
    finally:
        srv.gate.open()
        stop(srv.proc)


@pytest.fixture(scope="module")
def whole_request(server: Server) -> int:
    """The rows the model computes for a whole request of N sentinel rows (the gate open)."""
    since = len(server.gate.calls())
    r = httpx.post(server.url + "/explain", json={"instances": rows(N, sentinel=True)}, timeout=60)
    assert r.status_code == 200 and additivity_error(r.json()) < 1e-6, r.text[:500]
    whole = sum(n for _, n in server.gate.calls()[since:])
    assert whole > 10 * N, whole  # the explanation is most of it: model rows for each coalition
    return whole


def _serves(srv: Server) -> None:
    r = httpx.post(srv.url + "/explain", json={"instances": rows(2, sentinel=False)}, timeout=30)
    assert r.status_code == 200 and additivity_error(r.json()) < 1e-6


def test_over_the_time_budget_the_answer_is_ours_and_the_work_stops(
    server: Server, whole_request: int
) -> None:
    since = len(server.gate.calls())
    server.gate.close()  # the request stays in the model past its budget, however fast the machine
    r = httpx.post(server.url + "/explain", json={"instances": rows(N, sentinel=True)}, timeout=BUDGET + 60)
    assert r.status_code == 504, r.text[:500]
    assert r.headers["content-type"] == "application/json"
    # ours (BentoML's own backstop, BUDGET + 10 s, answers another body)
    assert r.json() == {
        "error": f"the request took longer than its time budget of {BUDGET} s",
        "kind": "timeout",
        "row": None,
        "field": None,
    }
    assert metric_value(server.metrics(), INFLIGHT) == N  # its rows are held while the model computes
    computed = server.rows_computed_once_stopped(since)
    # the work stopped at its next slice: a small part of what the whole request computes
    assert N <= computed < whole_request / 10, (computed, whole_request)
    _serves(server)


def test_a_client_that_disconnects_stops_the_work(server: Server, whole_request: int) -> None:
    route = {"route": "POST /explain", "status": "499"}
    before = server.metrics()
    since = len(server.gate.calls())
    server.gate.close()
    body = json.dumps({"instances": rows(N, sentinel=True)}).encode()
    head = (
        f"POST /explain HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head + body)
        server.gate.wait_for_calls(since)  # the request is being computed
    # the client has gone while the model still computes: the server notices and answers nobody
    metrics = wait_metric(
        server.url,
        "shapserve_requests_total",
        lambda v: v > metric_value(before, "shapserve_requests_total", **route),
        **route,
    )
    kind = {"kind": "client_disconnected"}
    assert metric_value(metrics, "shapserve_errors_total", **kind) > metric_value(
        before, "shapserve_errors_total", **kind
    )
    assert metric_value(metrics, INFLIGHT) == N  # held until the work has stopped
    computed = server.rows_computed_once_stopped(since)
    assert N <= computed < whole_request / 10, (computed, whole_request)
    _serves(server)


def test_jobs_are_read_by_every_worker_and_lost_with_theirs(server: Server) -> None:
    # the first slice of plain rows is done; the next one, of sentinel rows, stays in the model
    instances = rows(FIRST_CHUNK, sentinel=False) + rows(400, sentinel=True)
    total = len(instances)
    since = len(server.gate.calls())
    server.gate.close()
    r = httpx.post(server.url + "/explain_jobs", json={"instances": instances}, timeout=60)
    assert r.status_code == 202, r.text
    job = r.json()
    computing = server.gate.wait_for_calls(since)[since][0]  # the process that computes the job
    status = httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()
    assert status["status"] == "running" and status["rows_done"] == FIRST_CHUNK, status
    for _ in range(10):  # fresh connections: whichever worker answers, the same job
        seen = httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()
        assert seen["id"] == job["id"] and seen["status"] == "running" and seen["rows"] == total
        assert seen["rows_done"] == FIRST_CHUNK
    owner = psutil.Process(server.status_file(job["id"])["owner"]["pid"])
    assert owner in server.workers()
    job_processes = [p for p in owner.children() if p.nice() > 0]
    assert computing in [p.pid for p in job_processes], [p.cmdline() for p in owner.children()]
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
    # the killed worker's job process leaves on its own, even in the middle of a slice (the gate closed)
    gone, alive = psutil.wait_procs(job_processes, timeout=60)
    assert not alive, [p.pid for p in alive]
    server.gate.open()
    assert httpx.delete(f"{server.url}/explain_jobs/{job['id']}", timeout=10).json()["status"] == "failed"
    assert httpx.get(f"{server.url}/explain_jobs/{job['id']}", timeout=10).status_code == 404
    # a new job runs to the end, on whichever worker takes it
    wait_ready(server.url, server.proc)
    r = httpx.post(
        server.url + "/explain_jobs", json={"instances": rows(50, sentinel=False), "top_k": 2}, timeout=60
    )
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
