"""Helpers every test folder shares for real servers and in-process clients (a plain module: tests/
is not a package; tests/conftest.py's folder is on sys.path)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

# one row of the loan pipeline's raw schema (a missing income included)
LOAN_ROW = {
    "age": 41.0,
    "income": None,
    "debt_ratio": 0.31,
    "years_employed": 6.5,
    "housing": "own",
    "purpose": "car",
    "region": "north",
}


def eventually(check: Callable[[], Any], timeout: float = 60.0, interval: float = 0.2) -> Any:
    """``check()``'s first truthy value, retried until ``timeout``: for what a server does in the
    background (recorded answers are written by a writer thread about every second)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            assert value, f"not true within {timeout} s: {value!r}"
            return value
        time.sleep(interval)


def recording_settled(metrics_text: str) -> bool:
    """True when every sampled answer in these ``/metrics`` has been written or counted as dropped."""
    totals = {"sampled": 0.0, "written": 0.0, "dropped": 0.0}
    for line in metrics_text.splitlines():
        for kind in totals:
            if line.startswith(f"shapserve_recording_{kind}_total"):
                totals[kind] += float(line.rsplit(" ", 1)[1])
    return totals["sampled"] > 0 and totals["sampled"] == totals["written"] + totals["dropped"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def make_client(tag: str, **env: str) -> Any:
    """A TestClient on the real service class, imported afresh for this model and settings.

    The settings are read from ``env`` while the service module is imported; the environment is
    restored afterwards, so one client's settings never leak into the next.
    """
    saved = dict(os.environ)
    for key, value in {"SHAPSERVE_MODEL": tag, **env}.items():
        os.environ[key] = value
    try:
        return _client()
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _client() -> Any:
    for mod in [m for m in sys.modules if m == "service.service"]:
        del sys.modules[mod]
    from prometheus_client import REGISTRY

    # each BentoML app registers its request metrics in the default registry; one process here
    # builds several apps, so the previous app's collectors are dropped first (test-only concern)
    for collector, names in list(REGISTRY._collector_to_names.items()):
        if any(n.startswith("bentoml_") for n in names):
            REGISTRY.unregister(collector)
    from service.settings import get_settings

    get_settings.cache_clear()
    from store.settings import get_settings as store_settings

    store_settings.cache_clear()
    store_settings()  # read now, from this client's environment (the service reads it at start-up)
    from starlette.testclient import TestClient

    import service.service as svc_module

    return TestClient(svc_module.Shapserve.to_asgi())


class ClientCache:
    """One live in-process client per (model tag, settings), reused across a folder's tests."""

    def __init__(self) -> None:
        self.clients: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}

    def opener(self, tags: dict[str, str]) -> Iterator[Callable[..., Any]]:
        """A fixture body: yields ``open(name, **env)``; the environment is restored afterwards."""
        saved = dict(os.environ)

        def open_client(name: str, **env: str) -> Any:
            key = (tags[name], tuple(sorted(env.items())))
            if key not in self.clients:
                c = make_client(tags[name], **env)
                c.__enter__()
                self.clients[key] = c
            return self.clients[key]

        yield open_client
        os.environ.clear()
        os.environ.update(saved)

    def close(self) -> None:
        for c in self.clients.values():
            c.__exit__(None, None, None)
