"""Helpers shared by the service tests (a plain module: tests/ is not a package)."""

from __future__ import annotations

import socket
import subprocess
import time
from typing import Any

import numpy as np


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
        time.sleep(0.5)
    raise TimeoutError(f"{url} not ready after {timeout}s")


def stop(proc: subprocess.Popen[bytes]) -> int:
    proc.terminate()
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def additivity_error(body: dict[str, Any]) -> float:

    values = np.asarray(body["local_importance_values"], dtype=float)
    base = np.asarray(body["expected_values"], dtype=float)
    out = np.asarray(body["explained_outputs"], dtype=float)
    return float(np.max(np.abs(base + values.sum(axis=-1) - out)))
