"""Helpers shared by the service tests (a plain module: tests/ is not a package)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
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


def explode_on_sentinel(x: Any) -> Any:
    """A preprocessing step that fails on one value: a model error on one request, on purpose."""
    arr = np.asarray(x, dtype=float)
    if np.any(arr == -999.0):
        raise ValueError("secret internal detail /opt/model/path")
    return arr


def make_client(tag: str, **env: str) -> Any:
    """A TestClient on the real service class, imported afresh for this model and settings."""
    for key, value in {"SHAPSERVE_MODEL": tag, **env}.items():
        os.environ[key] = value
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
    from starlette.testclient import TestClient

    import service.service as svc_module

    return TestClient(svc_module.Shapserve.to_asgi())
