"""Real ``shapserve serve`` servers on a shared PostgreSQL, for the tests of jobs and recording on it
(tests/service/test_jobs_postgres.py, test_recording_postgres.py)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil
import psycopg
import pytest
from svc_helpers import free_port, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
WAIT = 180.0  # a bound on any wait, never a measurement
sys.path.insert(0, str(ROOT / "tests" / "store"))
from pg_server import PostgresServer  # noqa: E402 - tests/store's throw-away PostgreSQL

__all__ = ["ROOT", "WAIT", "PostgresServer", "Server", "connect", "rows_of", "until"]


class Server:
    def __init__(self, tag: str, url: str, home: Path, env: dict[str, str]) -> None:
        """``url``: the PostgreSQL the server's jobs use; ``env``: its other settings."""
        self.tag, self.url_db, self.home, self.env = tag, url, home, env
        self.start()

    def start(self) -> None:
        """Start the server (``ready`` waits for it)."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        # a BentoML home of its own (the models linked), as a pod has: BentoML keeps a server's metrics in
        # files under its home, so servers sharing one would add up each other's counters on /metrics
        home = self.home / "bentoml"
        if not home.exists():
            home.mkdir()
            (home / "models").symlink_to(Path(os.environ["BENTOML_HOME"]) / "models")
        env = {
            **os.environ,
            "BENTOML_HOME": str(home),
            "BENTOML_DO_NOT_TRACK": "true",
            "SHAPSERVE_WORKERS": "1",
            "SHAPSERVE_JOBS_URL": self.url_db,
            "SHAPSERVE_JOBS_DIR": str(self.home / "jobs"),  # not shared: the jobs are in the database
            **self.env,
        }
        self.proc = subprocess.Popen(
            [str(BIN / "shapserve"), "serve", self.tag, "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=(self.home / "server.log").open("a"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def ready(self) -> Server:
        wait_ready(self.url, self.proc, timeout=WAIT)
        return self

    def pids(self) -> set[int]:
        try:
            return {self.proc.pid} | {p.pid for p in psutil.Process(self.proc.pid).children(recursive=True)}
        except psutil.Error:
            return set()

    def kill(self, sig: int) -> None:
        """SIGKILL: the whole server at once (a pod or node lost); SIGTERM: its main process, which stops
        its workers (as Kubernetes signals a container's first process)."""
        if sig == signal.SIGKILL:
            for pid in self.pids():  # its workers and job processes too, whatever their process group
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
        else:
            self.proc.send_signal(sig)
        self.proc.wait(timeout=60)

    def stop(self) -> None:
        left = self.pids()
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
        for pid in left - {self.proc.pid}:  # nothing of it outlives the module
            with contextlib.suppress(psutil.Error):
                psutil.Process(pid).wait(timeout=30)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def connect(url: str) -> psycopg.Connection[Any]:
    return psycopg.connect("postgresql://" + url.split("://", 1)[1], autocommit=True)


def until(what: str, check: Callable[[], Any], wait: float = WAIT) -> Any:
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.02)
    pytest.fail(f"not within {wait:g} s: {what}")


def rows_of(n: int) -> list[list[float]]:
    """``n`` distinct rows of the seed's model (its example rows, shifted by 1e-3 per round)."""
    sample = json.loads((ROOT / "examples" / "breast_cancer_request.json").read_text())["instances"]
    return [[v + (i // len(sample)) * 1e-3 for v in sample[i % len(sample)]] for i in range(n)]
