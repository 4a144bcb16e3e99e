"""The real image, built from the top-level Dockerfile with podman and run on 127.0.0.1.

Builds (or reuses) the image of the current Bento, runs it on a free loopback port with an API key,
waits for /readyz, checks /explain additivity, the user, the worker count, the healthcheck, the
metrics the autoscaling variant relies on, and a clean stop. Fails (never skips) without podman.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from dataclasses import dataclass
from typing import Any

import pytest
from deploy_helpers import (
    ROOT,
    assert_additive,
    container_alive,
    example_rows,
    free_port,
    http,
    inspect_image,
    logs,
    run,
    say,
    wait_ready,
)

sys.path.insert(0, str(ROOT / "tests" / "protocols"))  # the third-party clients' runner
from proto_helpers import run_client  # noqa: E402

pytestmark = pytest.mark.slow
API_KEY = "ci-" + secrets.token_hex(12)
CPUS = min(2, os.cpu_count() or 1)


@dataclass
class Server:
    name: str
    url: str
    ready_seconds: float


def worker_processes(name: str) -> list[str]:
    top = run(["podman", "top", name, "args"]).stdout.splitlines()[1:]
    return [ln for ln in top if "_bentoml_impl.worker.service" in ln]


def start(image: str, name: str, *args: str, inner: int = 3000, command: tuple[str, ...] = ()) -> Server:
    """Run the image (``args`` before it, ``command`` after it), published from port ``inner``."""
    port = free_port()
    run(["podman", "rm", "-f", name], check=False)
    run(["podman", "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:{inner}", *args, image, *command])
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_ready(url, lambda: container_alive(name))
    except AssertionError as e:
        detail = logs(name)
        run(["podman", "rm", "-f", name], check=False)
        raise AssertionError(f"{e}\n--- podman logs {name}\n{detail}") from None
    say(f"{name} ready on {url} after {ready:.1f}s")
    return Server(name, url, ready)


@pytest.fixture(scope="module")
def server(image) -> Any:
    srv = start(
        image.name, f"shapserve-test-{os.getpid()}", f"--cpus={CPUS}", "-e", f"SHAPSERVE_API_KEY={API_KEY}"
    )
    yield srv
    run(["podman", "rm", "-f", "-t", "5", srv.name], check=False)


AUTH = {"authorization": f"Bearer {API_KEY}"}


def test_image_config(image):
    d = inspect_image(image.name)
    cfg = d["Config"]
    assert cfg["User"] == "10001:10001"
    assert {"3000/tcp", "8080/tcp"} <= set(cfg["ExposedPorts"])  # 8080: SageMaker's
    hc = d.get("Healthcheck") or cfg.get("Healthcheck")
    assert hc, "HEALTHCHECK lost: build with --format docker"
    assert hc["Test"][0] == "CMD" and any("/readyz" in part for part in hc["Test"]), hc["Test"]
    env = dict(e.split("=", 1) for e in cfg["Env"])
    assert env["BENTOML_DO_NOT_TRACK"] == "true" and env["SHAPSERVE_WORKERS"] == "cpu_count"
    assert cfg["Entrypoint"] == ["/usr/local/bin/shapserve-entrypoint"]
    say(f"image {image.name}: {d['Size'] / 1e6:.0f} MB, built in {image.build_seconds:.0f}s")


def test_no_build_toolchain_and_locked_requirements(image):
    """No compiler, no pip or setuptools (nothing installs at run time), and exactly the Bento's pins."""
    listing = "import importlib.metadata as m; [print(d.metadata['Name'] + '==' + d.version) for d in m.distributions()]"
    script = f'for t in gcc cc c++ g++ make ld as git pip pip3; do command -v $t; done; /opt/venv/bin/python -c "{listing}"'
    out = run(["podman", "run", "--rm", "--entrypoint", "/bin/sh", image.name, "-c", script]).stdout
    lines = out.splitlines()
    assert not [ln for ln in lines if ln.startswith("/opt/venv")], f"toolchain or pip in the venv: {lines}"
    assert not [ln for ln in lines if ln.startswith("/") and not ln.endswith(("/pip", "/pip3"))], lines
    installed = {ln.split("==")[0].lower().replace("_", "-"): ln.split("==")[1] for ln in lines if "==" in ln}
    assert not {"pip", "setuptools", "wheel"} & set(installed), sorted(installed)
    locked = [
        ln.strip()
        for ln in (image.context / "env/python/requirements.txt").read_text().splitlines()
        if "==" in ln and not ln.startswith("#")
    ]
    assert len(locked) > 20
    for req in locked:
        name, version = req.split("==")
        assert installed.get(name.lower().replace("_", "-")) == version.split(";")[0].strip(), req


def test_explain_additivity(server):
    rows = example_rows(3)
    status, answer = http("POST", server.url + "/explain", {"instances": rows}, AUTH)
    assert status == 200, answer
    worst = assert_additive(answer, n_rows=3)
    say(f"/explain additivity: max error {worst:.2e}")
    status, pred = http("POST", server.url + "/predict", {"instances": rows}, AUTH)
    assert status == 200 and len(pred["predictions"]) == 3


def test_api_key_required(server):
    status, body = http("POST", server.url + "/explain", {"instances": example_rows(1)})
    assert status == 401, body
    status, _ = http(
        "POST", server.url + "/explain", {"instances": example_rows(1)}, {"authorization": "Bearer wrong"}
    )
    assert status == 401
    assert http("GET", server.url + "/readyz")[0] == 200  # probes stay open


def test_metrics_used_by_autoscaling(server):
    http("POST", server.url + "/explain", {"instances": example_rows(1)}, AUTH)
    status, text = http("GET", server.url + "/metrics")
    assert status == 200
    for series in ("shapserve_explain_seconds_bucket", "bentoml_service_request_in_progress"):
        assert series in text, series


def test_runs_as_non_root(server):
    assert run(["podman", "exec", server.name, "id", "-u"]).stdout.strip() == "10001"
    users = {ln.split()[0] for ln in run(["podman", "top", server.name, "user"]).stdout.splitlines()[1:]}
    assert users == {"shapserve"}, users


def test_one_worker_per_cpu(server):
    assert len(worker_processes(server.name)) == CPUS


def test_healthcheck_once(server):
    proc = run(["podman", "healthcheck", "run", server.name], check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    state = json.loads(run(["podman", "inspect", server.name]).stdout)[0]["State"]
    health = state.get("Health") or state.get("Healthcheck") or {}
    assert health.get("Status") == "healthy", health


def test_workers_configurable_and_read_only_root(image):
    name = f"shapserve-test-w1-{os.getpid()}"
    srv = start(image.name, name, f"--cpus={CPUS}", "--read-only", "-e", "SHAPSERVE_WORKERS=1")
    try:
        assert len(worker_processes(name)) == 1
        status, answer = http("POST", srv.url + "/explain", {"instances": example_rows(1)})
        assert status == 200  # no API key configured: open
        assert_additive(answer, n_rows=1)
    finally:
        run(["podman", "rm", "-f", "-t", "5", name], check=False)


def test_invalid_worker_count_is_refused(image):
    proc = run(["podman", "run", "--rm", "-e", "SHAPSERVE_WORKERS=lots", image.name], check=False, timeout=60)
    assert proc.returncode == 64
    assert "SHAPSERVE_WORKERS must be cpu_count or a positive integer" in proc.stderr


def test_stops_cleanly(server):
    """Last test of the module: SIGTERM, workers drain, exit code 0 (a SIGKILL at the 30 s timeout would
    give 137); how long the stop took is reported, not asserted (it depends on the machine)."""
    t0 = time.monotonic()
    run(["podman", "stop", "-t", "30", server.name])
    took = time.monotonic() - t0
    state = json.loads(run(["podman", "inspect", server.name]).stdout)[0]["State"]
    assert state["ExitCode"] == 0, logs(server.name)
    assert "Traceback" not in logs(server.name, tail=400)
    say(f"stopped in {took:.1f}s, exit code 0")


def test_sagemaker_serve_on_8080(image):
    """Started as SageMaker starts it (argument ``serve``, port 8080): /ping, /invocations JSON and CSV,
    Accept honoured, Clarify's shape on request, and boto3's sagemaker-runtime client reads it."""
    name = f"shapserve-test-sm-{os.getpid()}"
    env = ["-e", "SAGEMAKER_MODEL_SERVER_WORKERS=1", f"--cpus={CPUS}"]
    srv = start(image.name, name, *env, inner=8080, command=("serve",))
    try:
        assert len(worker_processes(name)) == 1  # SAGEMAKER_MODEL_SERVER_WORKERS
        assert http("GET", srv.url + "/ping")[0] == 200
        rows = example_rows(2)
        status, answer = http("POST", srv.url + "/invocations", {"instances": rows})
        assert status == 200, answer
        assert_additive(answer, n_rows=2)
        features = answer["features"]
        body = "".join(",".join(repr(float(v)) for v in r) + "\n" for r in rows)  # feature order
        spec = {"url": srv.url, "endpoint": "seed", "body": body, "content_type": "text/csv"}
        out = run_client("sagemaker_client.py", {**spec, "accept": "text/csv"})
        assert out["content_type"].startswith("text/csv")
        assert [ln.split(",")[0] for ln in out["body"].splitlines()] == [
            str(p) for p in answer["predictions"]
        ]
        out = run_client(
            "sagemaker_client.py", {**spec, "accept": "application/json", "explanations": "`true`"}
        )
        records = json.loads(out["body"])["explanations"]["kernel_shap"]
        assert [f["feature_header"] for f in records[0]] == features and len(records) == 2
        proc = run(["podman", "healthcheck", "run", name], check=False)  # the HEALTHCHECK follows the port
        assert proc.returncode == 0, proc.stdout + proc.stderr
    finally:
        run(["podman", "rm", "-f", "-t", "5", name], check=False)


def test_vertex_aip_variables(image):
    """Vertex's variables: the port (AIP_HTTP_PORT), the health and predict routes they name, explain beside."""
    name = f"shapserve-test-vx-{os.getpid()}"
    env = {
        "AIP_HTTP_PORT": "7080",
        "AIP_HEALTH_ROUTE": "/vertex/health",
        "AIP_PREDICT_ROUTE": "/vertex/predict",
    }
    args = [
        f"--cpus={CPUS}",
        "-e",
        "SHAPSERVE_WORKERS=1",
        *(a for k, v in env.items() for a in ("-e", f"{k}={v}")),
    ]
    srv = start(image.name, name, *args, inner=7080)
    try:
        assert http("GET", srv.url + "/vertex/health")[0] == 200
        rows = example_rows(2)
        status, predicted = http("POST", srv.url + "/vertex/predict", {"instances": rows, "parameters": {}})
        assert status == 200 and len(predicted["predictions"]) == 2, predicted
        status, explained = http("POST", srv.url + "/vertex/predict:explain", {"instances": rows})
        assert status == 200, explained
        for e in explained["explanations"]:
            for a in e["attributions"]:
                total = a["baselineOutputValue"] + sum(a["featureAttributions"].values())
                assert abs(total - a["instanceOutputValue"]) < 1e-6, a
    finally:
        run(["podman", "rm", "-f", "-t", "5", name], check=False)


def test_the_svc_image_carries_only_what_its_model_needs(image):
    """The seed's SVC needs no ONNX, LightGBM, XGBoost or Parquet package (scorers/runtime_packages.py);
    the store and the PostgreSQL jobs, on by default, load."""
    script = (
        "import importlib.util as u; import sqlalchemy, psycopg, alembic; "
        "print(','.join(m for m in ('onnxruntime', 'onnx', 'lightgbm', 'xgboost', 'pyarrow', 'skl2onnx') "
        "if u.find_spec(m)) or 'none')"
    )
    proc = run(["podman", "run", "--rm", "--entrypoint", "/opt/venv/bin/python", image.name, "-c", script])
    assert proc.stdout.strip() == "none", proc.stdout


def test_a_model_needing_another_runtime_is_refused_at_start_up(image, tmp_path):
    """The SVC's image, run with a LightGBM model's artifact mounted in place of its own, exits at start-up
    (before any request) with one line naming the missing package and the model's runtime."""
    import lightgbm
    from sklearn.datasets import load_breast_cancer

    import scorers

    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    x = x.iloc[:200, :6]
    booster = lightgbm.train({"objective": "binary", "verbose": -1}, lightgbm.Dataset(x, y[:200]), 5)
    fitted = scorers.fit(booster, x, background_size=20, summary="sample", eval_size=10)
    artifact = fitted.save(tmp_path / "artifact")
    os.chmod(artifact, 0o755)
    for f in artifact.iterdir():
        os.chmod(f, 0o644)
    (own,) = (image.context / "models").glob("*/*/artifact")  # the SVC's, at the same path in the image
    inside = "/opt/bento/" + str(own.relative_to(image.context))
    proc = run(
        ["podman", "run", "--rm", "-v", f"{artifact}:{inside}:ro", image.name], check=False, timeout=120
    )
    assert proc.returncode == 78, proc.stderr[-3000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("shapserve: cannot serve")]
    assert len(lines) == 1, proc.stderr[-3000:]
    assert "prediction runtime lightgbm" in lines[0] and "lightgbm is not installed" in lines[0], lines[0]
    assert "Traceback" not in proc.stderr


def test_azureml_managed_deployment_contract(image):
    """Run as deploy/azureml/deployment.yml tells Azure ML to run it: its environment variables plus the
    ones Azure ML sets (AZUREML_MODEL_DIR names a mount that is empty here: the model is in the image),
    the port and the liveness, readiness and scoring routes read from the YAML itself; the seed's call
    (``{"data": rows}`` to the scoring route) is answered in Azure ML's layout, additive."""
    import yaml

    spec = yaml.safe_load((ROOT / "deploy" / "azureml" / "deployment.yml").read_text())
    routes = spec["environment"]["inference_config"]
    ports = {r["port"] for r in routes.values()}
    assert len(ports) == 1, routes  # one port for the probes and the scoring route
    env = {
        **{k: str(v) for k, v in spec["environment_variables"].items()},
        "AZUREML_MODEL_DIR": "/var/azureml-app/azureml-models",  # set by Azure ML; nothing mounted
        "AML_APP_ROOT": "/var/azureml-app",
    }
    name = f"shapserve-test-aml-{os.getpid()}"
    args = [f"--cpus={CPUS}", *(a for k, v in env.items() for a in ("-e", f"{k}={v}"))]
    srv = start(image.name, name, *args, inner=ports.pop())
    try:
        assert http("GET", srv.url + routes["liveness_route"]["path"])[0] == 200
        assert http("GET", srv.url + routes["readiness_route"]["path"])[0] == 200
        rows = example_rows(2)
        status, answer = http("POST", srv.url + routes["scoring_route"]["path"], {"data": rows})
        assert status == 200, answer
        values = answer["local_importance_values"]  # Azure ML's layout: [class][row][feature]
        assert len(values) == 2 and all(len(v) == 2 and len(v[0]) == 30 for v in values)
        for k in range(2):
            for i in range(2):
                total = answer["expected_values"][k] + sum(values[k][i])
                assert abs(total - answer["explained_outputs"][i][k]) < 1e-6, (k, i)
    finally:
        run(["podman", "rm", "-f", "-t", "5", name], check=False)
