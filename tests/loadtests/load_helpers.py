"""Helpers of the load-test tests (a plain module with a unique name: tests/ is not a package)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
DEMO = "shapserve-demo"


def env() -> dict[str, str]:
    e = dict(os.environ)
    e.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
    e["BENTOML_DO_NOT_TRACK"] = "true"
    for key in [k for k in e if k.startswith("SHAPSERVE_")]:  # the server runs on its defaults
        del e[key]
    return e


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ensure_demo_model() -> None:
    """Package the demo model with `shapserve demo` when the store has no shapserve-demo yet."""
    found = subprocess.run(
        [str(BIN / "bentoml"), "models", "get", f"{DEMO}:latest", "-o", "path"],
        env=env(),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if found.returncode == 0:
        return
    made = subprocess.run(
        [str(BIN / "shapserve"), "demo"], env=env(), cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert made.returncode == 0, made.stderr[-3000:]


def start_server(port: int, log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as fh:
        return subprocess.Popen(
            [str(BIN / "shapserve"), "serve", DEMO, "--port", str(port), "--host", "127.0.0.1"],
            env=env(),
            cwd=ROOT,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before it was ready")
        try:
            with urlopen(url + "/readyz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except (URLError, OSError):
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
