"""The Deployment's pod spec of deploy/k8s, run with ``podman kube play`` on the real image.

Probes, resources, security context, read-only root filesystem and the /tmp emptyDir come from
deploy/k8s/deployment.yaml unchanged; deploy/scripts/kube_play.py only sets replicas=1, the local image
and a 127.0.0.1 host port. Fails (never skips) without podman.
"""

from __future__ import annotations

import json
import os

import pytest
from deploy_helpers import (
    ROOT,
    assert_additive,
    container_alive,
    example_rows,
    free_port,
    http,
    logs,
    run,
    say,
    wait_ready,
)

pytestmark = pytest.mark.slow


def test_kube_play_deployment(image):
    import yaml
    from kube_play import kube_play_docs

    port = free_port()
    name = f"shapserve-kp-{os.getpid()}"
    spec_file = ROOT / "build" / f"{name}.yaml"
    docs = kube_play_docs(ROOT / "deploy/k8s/deployment.yaml", image.name, port, name=name)
    spec_file.write_text(yaml.safe_dump_all(docs, sort_keys=False))
    run(["podman", "kube", "down", str(spec_file)], check=False)
    out = run(["podman", "kube", "play", "--replace", str(spec_file)]).stdout
    lines = [ln.strip() for ln in out.splitlines()]
    ctr = lines[lines.index("Container:") + 1]
    try:
        url = f"http://127.0.0.1:{port}"
        try:
            ready = wait_ready(url, lambda: container_alive(ctr))
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- logs\n{logs(ctr)}") from None
        say(f"kube play pod {name} ready on {url} after {ready:.1f}s")

        status, answer = http("POST", url + "/explain", {"instances": example_rows(2)})
        assert status == 200, answer  # the optional API-key Secret does not exist: open
        assert_additive(answer, n_rows=2)

        info = json.loads(run(["podman", "inspect", ctr]).stdout)[0]
        host = info["HostConfig"]
        assert host["ReadonlyRootfs"] is True
        assert host["Memory"] == 2 * 1024**3  # limits.memory 2Gi
        assert host["CpuQuota"] / host["CpuPeriod"] == 2  # limits.cpu "2"
        assert not info.get("EffectiveCaps"), info.get("EffectiveCaps")  # capabilities: drop ALL
        assert run(["podman", "exec", ctr, "id", "-u"]).stdout.strip() == "10001"
        probe = run(
            ["podman", "exec", ctr, "sh", "-c", "touch /opt/bento/x 2>&1; touch /tmp/x && echo tmp-writable"]
        )
        assert "Read-only file system" in probe.stdout and "tmp-writable" in probe.stdout
        workers = [
            ln for ln in run(["podman", "top", ctr, "args"]).stdout.splitlines() if "worker.service" in ln
        ]
        assert len(workers) == min(2, os.cpu_count() or 1)  # cpu_count follows the CPU limit
    finally:
        run(["podman", "kube", "down", str(spec_file)], check=False)
        spec_file.unlink(missing_ok=True)
    assert run(["podman", "container", "exists", ctr], check=False).returncode == 1, (
        "kube down left the container"
    )
