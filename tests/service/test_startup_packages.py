"""A server whose environment lacks a package its model needs refuses to start (service/preflight.py):
non-zero exit before any request, one message naming the package and the model's runtime.

The real server process (``bentoml serve``) is started on a LightGBM model with LightGBM made absent
for that process and its workers only: a ``sitecustomize`` on its PYTHONPATH sets
``sys.modules["lightgbm"] = None`` (Python's documented import block).  The image's own check (the SVC
image run on a LightGBM artifact) is tests/deploy/test_deploy_image.py.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from serving_helpers import free_port

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lightgbm_tag() -> str:
    import lightgbm
    from sklearn.datasets import load_breast_cancer

    from cli.bento import package

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x = x.iloc[:, :6]
    booster = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(x, y), 5)
    quiet = {"progress": lambda _m: None, "eval_size": 10, "background_size": 20, "summary": "sample"}
    out = package(booster, x.iloc[:200], name="test-startup-lgbm", **quiet)
    return str(out["model_tag"])


def test_a_missing_runtime_stops_the_server_at_start_up(lightgbm_tag: str, tmp_path: Path) -> None:
    blocker = tmp_path / "no-lightgbm"
    blocker.mkdir()
    (blocker / "sitecustomize.py").write_text('import sys\nsys.modules["lightgbm"] = None\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHAPSERVE_")}
    env.update(
        BENTOML_DO_NOT_TRACK="true",
        SHAPSERVE_MODEL=lightgbm_tag,
        SHAPSERVE_WORKERS="1",
        SHAPSERVE_JOBS_DIR=str(tmp_path / "jobs"),
        PYTHONPATH=os.pathsep.join([str(ROOT), str(blocker)]),  # the project first, then the blocker
    )
    cmd = [sys.executable, "-m", "bentoml", "serve", "service.service:Shapserve"]
    cmd += ["--port", str(free_port()), "--host", "127.0.0.1"]
    proc = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert proc.returncode == 78, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("shapserve: cannot serve")]
    assert len(lines) == 1, proc.stderr[-3000:]
    message = lines[0]
    assert lightgbm_tag in message and "prediction runtime lightgbm" in message
    assert "lightgbm is not installed" in message and "requirements-lightgbm.lock" in message
    assert "Traceback" not in proc.stderr
