"""Against a real server of one worker: a lone 1-row ``/explain`` runs on the event loop
(``shapserve_inline_requests_total``) and answers bit for bit what the same row answers in a handler
thread, alone or sent concurrently; a large request held past its small time budget still answers our
504 while ``/livez`` and other requests are served; BentoML's access line of each request is written with
all its fields (by service.log_lines' filter and formatter).

The served model is gated (tests/gated_model.py): the large request of sentinel rows stays inside the
model for as long as the test keeps the gate closed, so nothing here depends on how fast the machine
computes.  The server's inline bound is 200 ms (its budget's tenth, 300 ms, is larger): a 1-row request
is predicted under it, and the held request's 1,000 rows, at the 1-row requests' time per row (their
fixed costs included), over it."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from gated_model import Gate, metric_value, rows, wait_metric
from svc_helpers import additivity_error, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BUDGET = 3  # SHAPSERVE_REQUEST_TIMEOUT of the server, seconds
HELD = 1000  # rows of the request held in the model
INLINE = "shapserve_inline_requests_total"
ROUTE = {"route": "POST /explain"}
pytestmark = pytest.mark.slow


class Server:
    def __init__(self, tag: str, gate: Gate, log: Path) -> None:
        self.gate = gate
        self.log = log
        self.url = f"http://127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            **gate.server_env(),
            "BENTOML_DO_NOT_TRACK": "true",
            "SHAPSERVE_WORKERS": "1",
            "SHAPSERVE_REQUEST_TIMEOUT": str(BUDGET),
            "SHAPSERVE_INLINE_MS": "200",
            "SHAPSERVE_MAX_ROWS": str(HELD),
            "SHAPSERVE_MAX_INFLIGHT_ROWS": str(2 * HELD),
        }
        port = self.url.rsplit(":", 1)[1]
        self.proc = subprocess.Popen(
            [str(BIN / "shapserve"), "serve", tag, "--port", port],
            env=env,
            cwd=ROOT,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def explain(self, body: dict[str, Any], timeout: float = 60) -> httpx.Response:
        return httpx.post(self.url + "/explain", json=body, timeout=timeout)

    def inline(self) -> float:
        return metric_value(httpx.get(self.url + "/metrics", timeout=10).text, INLINE, **ROUTE)


@pytest.fixture(scope="module")
def server(gated_tag: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    tmp = tmp_path_factory.mktemp("inline-server")
    srv = Server(gated_tag, Gate(tmp / "gate"), tmp / "server.log")
    try:
        wait_ready(srv.url, srv.proc)
        yield srv
    finally:
        srv.gate.open()
        stop(srv.proc)


ROW = {"instances": rows(1, sentinel=False, start=5)}


def _answer(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code == 200, r.text[:500]
    body: dict[str, Any] = r.json()
    assert additivity_error(body) < 1e-6
    return body


def test_a_lone_row_runs_inline_and_answers_as_the_same_row_in_a_thread(server: Server) -> None:
    first = _answer(server.explain(ROW))  # the route's first request: measured in a handler thread
    before = server.inline()
    lone = [_answer(server.explain(ROW)) for _ in range(3)]
    assert server.inline() == before + 3  # each one alone, and predicted short
    assert all(a == first for a in lone)  # bit for bit: JSON floats are exact
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda _: _answer(server.explain(ROW)), range(12)))
    assert all(a == first for a in together)


def test_a_held_request_answers_504_while_livez_and_other_requests_are_served(server: Server) -> None:
    lone = _answer(server.explain(ROW))  # the estimate exists (also when this test runs alone)
    since = len(server.gate.calls())
    server.gate.close()
    try:
        with ThreadPoolExecutor(1) as pool:
            held = pool.submit(server.explain, {"instances": rows(HELD, sentinel=True)}, BUDGET + 60)
            server.gate.wait_for_calls(since)  # it is inside the model
            assert httpx.get(server.url + "/livez", timeout=10).status_code == 200
            before = server.inline()
            # not alone: a handler thread, and the same answer as alone on the event loop
            assert _answer(server.explain(ROW)) == lone
            assert server.inline() == before
            r = held.result()
    finally:
        server.gate.open()
    assert r.status_code == 504, r.text[:500]
    assert r.json()["kind"] == "timeout"
    wait_metric(server.url, "shapserve_inflight_rows", lambda v: v == 0)  # its work stopped
    assert httpx.get(server.url + "/livez", timeout=10).status_code == 200


def _whole_answer(sock: socket.socket) -> tuple[str, str]:
    """(the head, the body) of one HTTP/1.1 answer read from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    while len(body) < length:
        body += sock.recv(4096)
    return head.decode(), body.decode()


def test_a_body_that_never_arrives_ends_in_408_and_frees_its_place(server: Server) -> None:
    """Clients that declare more bytes than they send: each held its in-flight place for as long as it
    stayed connected (SHAPSERVE_MAX_INFLIGHT of them shed every request with 429, without end); each now
    gets a 408 once the route's time budget has passed, and the server answers again (decision 60)."""
    port = int(server.url.rsplit(":", 1)[1])
    head = (
        b"POST /explain HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n"
    )
    stalled = [socket.create_connection(("127.0.0.1", port), timeout=60) for _ in range(8)]  # the limit
    try:
        for s in stalled:
            s.sendall(head + b'{"instances": ')
        answers = [_whole_answer(s) for s in stalled]  # blocks until the server answers each one
    finally:
        for s in stalled:
            s.close()
    for status, body in answers:
        assert status.startswith("HTTP/1.1 408"), status
        error = json.loads(body)
        assert error["kind"] == "body_timeout" and f"time budget of {BUDGET} s" in error["error"], error
        assert "14 bytes of the 5000 declared arrived" in error["error"], error
    # served again (a /predict: the access-line test below counts the /explain lines that follow it)
    again = httpx.post(server.url + "/predict", json=ROW, timeout=60)
    assert again.status_code == 200, again.text[:500]


# BentoML's access line: time, level, component, client, request and response fields, latency, trace
ACCESS_LINE = re.compile(
    r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} \[INFO\] \[entry_service:shapserve:1\] 127\.0\.0\.1:\d+ "
    r"\(scheme=http,method=POST,path=/explain,type=application/json,length=(\d+)\) "
    r"\(status=200,type=application/json,length=(\d+)\) \d+\.\d{3}ms "
    r"\(trace=[0-9a-f]{32},span=[0-9a-f]{16},sampled=[01],service\.name=shapserve\)"
)


def test_each_request_writes_bentomls_access_line(server: Server) -> None:
    before = len(ACCESS_LINE.findall(server.log.read_text()))
    body = {"instances": rows(1, sentinel=False, start=7)}
    sent = [server.explain(body) for _ in range(3)]
    lines: list[tuple[str, str]] = []
    for _ in range(100):  # the worker's stdout reaches the file shortly after the answers
        lines = ACCESS_LINE.findall(server.log.read_text())[before:]
        if len(lines) >= 3:
            break
        time.sleep(0.1)
    sizes = {(str(len(r.request.content)), r.headers["content-length"]) for r in sent}
    assert len(lines) == 3 and set(lines) == sizes, (lines, sizes)


def test_each_request_is_counted_by_its_route_and_status(server: Server) -> None:
    """The worker looks each metric child up once (service/model_metrics.py); every request still adds one
    to its own route's and status's count and one observation to its route's time histogram."""

    def counts() -> dict[tuple[str, str], float]:
        text = httpx.get(server.url + "/metrics", timeout=10).text
        out = {
            (route, status): metric_value(text, "shapserve_requests_total", route=route, status=status)
            for route in ("POST /explain", "POST /predict", "GET /metadata")
            for status in ("200", "400")
        }
        for route in ("POST /explain", "POST /predict"):
            out[route, "seconds"] = metric_value(text, "shapserve_request_seconds_count", route=route)
        return out

    before = counts()
    for _ in range(3):
        _answer(server.explain(ROW))
    for _ in range(2):
        assert server.explain({"instances": [[1.0]]}).status_code == 400
    predicted = httpx.post(server.url + "/predict", json=ROW, timeout=60)
    assert predicted.status_code == 200, predicted.text[:500]
    assert httpx.get(server.url + "/metadata", timeout=10).status_code == 200
    after = counts()
    added = {key: after[key] - before[key] for key in after}
    assert added == {
        ("POST /explain", "200"): 3,
        ("POST /explain", "400"): 2,
        ("POST /predict", "200"): 1,
        ("POST /predict", "400"): 0,
        ("GET /metadata", "200"): 1,
        ("GET /metadata", "400"): 0,
        ("POST /explain", "seconds"): 5,
        ("POST /predict", "seconds"): 1,
    }, added
