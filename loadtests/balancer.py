"""A tiny readiness-aware round-robin HTTP balancer, as a Kubernetes Service's endpoints behave.

    balancer = Balancer(["http://127.0.0.1:3001", "http://127.0.0.1:3002"]).start()
    ... requests to balancer.url ...
    balancer.stop()

One thread per backend polls its ``/readyz`` every ``poll`` seconds; a backend that answers anything but 200,
or refuses the connection, is taken out of the rotation at once (an endpoint not ready), one that does not
answer within ``probe_timeout`` after ``misses`` polls in a row (a busy server is not a stopping one, as a
probe's failureThreshold), and it is put back once it answers 200 again. Each request
goes, whole, to the next ready backend on a connection of its own (``Connection: close``), so a backend
that stops accepting after it left the rotation is never asked again. A backend that fails a request is
a 502 and a request with no ready backend a 503, both counted, never retried: the drain must make them 0.
Used by loadtests/rolling_restart.py and its test (tests/service/test_rolling_restart.py).
"""

from __future__ import annotations

import http.client
import itertools
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlparse

HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "te", "upgrade"}


class Balancer:
    def __init__(
        self,
        backends: list[str],
        poll: float = 0.1,
        timeout: float = 300.0,
        probe_timeout: float = 5.0,
        misses: int = 3,
    ) -> None:
        self.poll, self.timeout, self.probe_timeout, self.misses = poll, timeout, probe_timeout, misses
        self.backends = list(backends)
        self.ready: list[str] = []
        self.in_flight: dict[str, int] = {}
        self.forwarded: dict[str, int] = {}
        self.failed: dict[str, int] = {}  # 502s: the backend refused, dropped or timed out the request
        self.no_backend = 0  # 503s: nothing ready
        self.posted = 0  # POST requests received (the load has started once there are some)
        self.events: list[tuple[float, str, str]] = []  # (epoch seconds, backend, "in" | "out")
        self._lock = threading.Lock()
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._threads = [threading.Thread(target=self._server.serve_forever, daemon=True)]

    def start(self) -> Balancer:
        for t in self._threads:
            t.start()
        for backend in self.backends:
            self._watch_in_thread(backend)
        return self

    def _watch_in_thread(self, backend: str) -> None:
        """Each backend probed by a thread of its own: a slow one does not delay the others' probes."""
        t = threading.Thread(target=self._watch, args=(backend,), daemon=True)
        self._threads.append(t)
        t.start()

    def stop(self) -> None:
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()

    def replace(self, old: str, new: str) -> None:
        """A pod replaced: ``new`` joins the rotation once ready, ``old`` is forgotten."""
        with self._lock:
            self.backends = [new if b == old else b for b in self.backends]
            if old in self.ready:
                self.ready.remove(old)
                self.events.append((time.time(), old, "out"))
        self._watch_in_thread(new)

    def left_at(self, backend: str) -> float | None:
        """When ``backend`` last left the rotation (epoch seconds), None while it is in it."""
        with self._lock:
            if backend in self.ready:
                return None
            return next((t for t, b, e in reversed(self.events) if b == backend and e == "out"), None)

    def idle(self, backend: str) -> bool:
        """Out of the rotation and no request of ours in flight on it."""
        return self.left_at(backend) is not None and self.in_flight.get(backend, 0) == 0

    def pick(self, method: str) -> str | None:
        with self._lock:
            self.posted += method == "POST"
            if not self.ready:
                self.no_backend += 1
                return None
            backend = self.ready[next(self._turn) % len(self.ready)]
            self.in_flight[backend] = self.in_flight.get(backend, 0) + 1
            self.forwarded[backend] = self.forwarded.get(backend, 0) + 1
            return backend

    def done(self, backend: str, ok: bool) -> None:
        with self._lock:
            self.in_flight[backend] -= 1
            if not ok:
                self.failed[backend] = self.failed.get(backend, 0) + 1

    def _watch(self, backend: str) -> None:
        missed = 0
        while not self._stop.is_set() and backend in self.backends:
            answer = probe(backend, self.probe_timeout)
            missed = missed + 1 if answer is None else 0
            up = answer is True or (answer is None and missed < self.misses)
            with self._lock:
                if backend not in self.backends:
                    return
                if up and backend not in self.ready:
                    self.ready.append(backend)
                    self.events.append((time.time(), backend, "in"))
                elif not up and backend in self.ready:
                    self.ready.remove(backend)
                    self.events.append((time.time(), backend, "out"))
            self._stop.wait(self.poll)


def probe(backend: str, timeout: float) -> bool | None:
    """``/readyz``: True on 200, False on another answer or a refused connection, None without an answer
    within ``timeout``."""
    u = urlparse(backend)
    conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=timeout)
    try:
        conn.request("GET", "/readyz")
        return conn.getresponse().status == 200
    except TimeoutError:
        return None
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


def is_ready(backend: str) -> bool:
    return probe(backend, 2.0) is True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that left before its answer (its own timeout): counted by the client, not logged."""


def _handler(lb: Balancer) -> type[BaseHTTPRequestHandler]:
    class Forward(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive with the clients
        timeout = 300  # an idle client connection is closed after this

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            return None

        def do_GET(self) -> None:  # noqa: N802 - http.server's names
            self._forward()

        do_POST = do_DELETE = do_PUT = do_GET  # noqa: N815

        def _forward(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            backend = lb.pick(self.command)
            if backend is None:
                self._answer(503, [], b'{"error": "balancer: no ready backend"}')
                return
            u = urlparse(backend)
            conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port, timeout=lb.timeout)
            try:
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP}
                conn.request(self.command, self.path, body=body, headers={**headers, "Connection": "close"})
                resp = conn.getresponse()
                status, out, data = resp.status, resp.getheaders(), resp.read()
            except (OSError, http.client.HTTPException) as exc:
                lb.done(backend, ok=False)
                self._answer(502, [], f'{{"error": "balancer: {backend} failed: {exc!r}"}}'.encode())
                return
            finally:
                conn.close()
            lb.done(backend, ok=True)
            self._answer(status, [(k, v) for k, v in out if k.lower() not in HOP], data)

        def _answer(self, status: int, headers: list[tuple[str, str]], data: bytes) -> None:
            self.send_response_only(status)
            for k, v in headers:
                self.send_header(k, v)
            if not headers:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Forward
