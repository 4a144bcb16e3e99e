"""Helpers shared by the deployment tests (fixtures are in conftest.py).

Fixtures for the deployment tests: validation tools, podman, the base image, the Bento, the real image.

Everything a fresh CI machine lacks is installed or built here, once per session, and reused when present:

* the manifest tools of deploy/requirements-validate.txt are pip-installed into the running venv;
* podman is installed and configured by deploy/scripts/podman-setup.sh (apt-get, needs root);
  when that is impossible the tests FAIL with the reason: they are never silently skipped;
* the base image: when ``docker.io/library/python:3.11-slim`` is not in local storage, either it is
  pulled (SHAPSERVE_PYTHON_BASE=pull) or, by default, the TEST-ONLY stand-in is built by
  deploy/scripts/make-test-base.sh (no registry is reachable on the project's CI machines);
* the Bento is built with ``make bento`` when missing or older than the code under service/ and scorers/;
* the image is built from the top-level Dockerfile with podman (layer cache reused).

A file lock under build/ serialises the staging and build steps between concurrent test sessions.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCRIPTS = DEPLOY / "scripts"
VENV_BIN = Path(sys.executable).parent
BENTOML_HOME = Path(os.environ.get("BENTOML_HOME") or ROOT / ".bentoml")
BASE_IMAGE = "docker.io/library/python:3.11-slim"
IMAGE = os.environ.get("SHAPSERVE_TEST_IMAGE", "localhost/shapserve:test")
if str(SCRIPTS) not in sys.path:
    sys.path.insert(0, str(SCRIPTS))


_CAPTURE: Any = None  # pytest's capture manager, set by conftest: lets say() reach the terminal


def say(msg: str) -> None:
    """Progress on the real terminal even under -q and output capture (long builds, loud failures)."""
    line = f"[tests/deploy {time.strftime('%H:%M:%S')}] {msg}"
    if _CAPTURE is not None:
        with _CAPTURE.global_and_fixture_disabled():
            print(line, file=sys.stderr, flush=True)
    else:
        print(line, file=sys.stderr, flush=True)


def run(
    cmd: list[str], *, timeout: float = 600, check: bool = True, **kw: Any
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and proc.returncode != 0:
        raise AssertionError(
            f"command failed (rc={proc.returncode}): {' '.join(cmd)}\n"
            f"--- stdout (tail)\n{proc.stdout[-3000:]}\n--- stderr (tail)\n{proc.stderr[-5000:]}"
        )
    return proc


@contextlib.contextmanager
def build_lock() -> Iterator[None]:
    (ROOT / "build").mkdir(exist_ok=True)
    with open(ROOT / "build" / ".deploy-tests.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------------------------ HTTP
def http(method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 30):
    """(status, parsed JSON or text) without raising on HTTP errors."""
    data = json.dumps(body).encode() if body is not None else None
    hdrs = (
        {"content-type": "application/json", **(headers or {})} if data is not None else dict(headers or {})
    )
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            status, raw = r.status, r.read()
    except urllib.error.HTTPError as e:
        status, raw = e.code, e.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_ready(base_url: str, alive: Any, timeout: float = 240) -> float:
    """Seconds until GET /readyz answers 200; fails early when ``alive()`` turns false."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < timeout:
        try:
            with urllib.request.urlopen(base_url + "/readyz", timeout=3) as r:
                if r.status == 200:
                    return time.monotonic() - t0
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        if not alive():
            raise AssertionError("the server exited before /readyz answered 200")
        time.sleep(0.5)
    raise AssertionError(f"{base_url}/readyz not ready after {timeout:.0f}s")


def example_rows(n: int = 3) -> list[list[float]]:
    from sklearn.datasets import load_breast_cancer

    return load_breast_cancer().data[:n].tolist()


def assert_additive(answer: dict[str, Any], n_rows: int, n_features: int = 30, tol: float = 1e-6) -> float:
    """expected_values[k] + sum_j phi[i][k][j] == explained_outputs[i][k]; returns the largest error."""
    for key in (
        "expected_values",
        "explained_outputs",
        "local_importance_values",
        "features",
        "output_space",
    ):
        assert key in answer, f"/explain answer lacks {key!r}: {sorted(answer)}"
    ev = answer["expected_values"]
    ev = ev if isinstance(ev, list) else [ev]
    out, phi = answer["explained_outputs"], answer["local_importance_values"]
    assert len(out) == len(phi) == n_rows
    assert len(answer["features"]) == n_features
    worst = 0.0
    for i in range(n_rows):
        assert len(out[i]) == len(ev) == len(phi[i])
        for k in range(len(ev)):
            assert len(phi[i][k]) == n_features
            err = abs(ev[k] + sum(phi[i][k]) - out[i][k])
            worst = max(worst, err)
            assert err <= tol, f"row {i} class {k}: additivity error {err:.3g}"
    return worst


def inspect_image(name: str) -> dict[str, Any]:
    return json.loads(run(["podman", "image", "inspect", name]).stdout)[0]


def container_alive(name: str) -> bool:
    proc = subprocess.run(
        ["podman", "inspect", "-f", "{{.State.Running}}", name], capture_output=True, text=True
    )
    return proc.stdout.strip() == "true"


def logs(name: str, tail: int = 60) -> str:
    proc = subprocess.run(["podman", "logs", "--tail", str(tail), name], capture_output=True, text=True)
    return proc.stdout + proc.stderr


def image_exists(name: str) -> bool:
    return subprocess.run(["podman", "image", "exists", name], capture_output=True).returncode == 0


@dataclass(frozen=True)
class BuiltImage:
    name: str
    context: Path
    build_seconds: float
