"""Helpers of the load-test tests (a plain module with a unique name: tests/ is not a package)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from serving_helpers import free_port, stop, wait_ready  # noqa: F401  (shared with every test folder)

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
