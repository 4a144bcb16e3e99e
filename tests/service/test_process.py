"""Real processes: the CLI packages a model from files, `shapserve serve` and the BUILT Bento are
served as real servers on free 127.0.0.1 ports, called over HTTP, and /metrics is scraped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import numpy as np
import pytest
from svc_helpers import additivity_error, free_port, stop, wait_ready

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["BENTOML_DO_NOT_TRACK"] = "true"
    return env


def _cli(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [str(BIN / "shapserve"), *args], capture_output=True, text=True, env=_env(), cwd=ROOT, timeout=900
    )
    if check:
        assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


@pytest.fixture(scope="module")
def model_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import joblib
    import skops.io as sio

    from scorers.examples import loan_pipeline

    d = tmp_path_factory.mktemp("files")
    pipe, x, y = loan_pipeline()
    data = x.assign(decision=y)
    data.to_csv(d / "train.csv", index=False)
    data.to_parquet(d / "train.parquet")
    sio.dump(pipe, d / "model.skops")
    joblib.dump(pipe, d / "model.joblib")
    return {
        "csv": d / "train.csv",
        "parquet": d / "train.parquet",
        "skops": d / "model.skops",
        "joblib": d / "model.joblib",
    }


def test_cli_packages_skops_with_progress_and_report(model_files: dict[str, Path]) -> None:
    proc = _cli(
        "package",
        str(model_files["skops"]),
        "--data",
        str(model_files["csv"]),
        "--target",
        "decision",
        "--name",
        "cli-loan",
    )
    out = json.loads(proc.stdout)
    assert out["model_tag"].startswith("cli-loan:")
    report = out["report"]
    assert report["scorer"] == "linear" and report["output_space"] == "log_odds" and report["exact"] is True
    assert report["features"] == 7  # the target column was dropped
    assert report["checks"]["additivity_max_abs_error"] < 1e-9
    assert report["checks"]["explain_ms_per_row_single"] > 0
    assert "checks: explaining" in proc.stderr and "store: saving" in proc.stderr  # progress lines


def test_cli_refuses_an_untrusted_pickle(model_files: dict[str, Path]) -> None:
    proc = _cli(
        "package",
        str(model_files["joblib"]),
        "--data",
        str(model_files["parquet"]),
        "--target",
        "decision",
        check=False,
    )
    assert proc.returncode == 2
    assert "a pickle is code" in proc.stderr and "--trust-pickle" in proc.stderr
    digest = __import__("hashlib").sha256(model_files["joblib"].read_bytes()).hexdigest()
    ok = _cli(
        "package",
        str(model_files["joblib"]),
        "--data",
        str(model_files["parquet"]),
        "--target",
        "decision",
        "--name",
        "cli-loan-pickle",
        "--sha256",
        digest,
        "--scorer",
        "exact",
        "--output-space",
        "probability",
    )
    report = json.loads(ok.stdout)["report"]
    assert report["scorer"] == "exact" and report["output_space"] == "probability"
    bad = _cli(
        "package",
        str(model_files["joblib"]),
        "--data",
        str(model_files["csv"]),
        "--sha256",
        "0" * 64,
        check=False,
    )
    assert bad.returncode == 2 and "a pickle is code" in bad.stderr


def test_cli_reports_unknown_target(model_files: dict[str, Path]) -> None:
    proc = _cli(
        "package",
        str(model_files["skops"]),
        "--data",
        str(model_files["csv"]),
        "--target",
        "nope",
        check=False,
    )
    assert proc.returncode == 2 and "target column 'nope'" in proc.stderr


def _exercise(url: str, model_name: str) -> None:
    meta = httpx.get(url + "/metadata", timeout=10).json()
    assert meta["model"]["name"] == model_name
    names = [f["name"] for f in meta["features"]]
    sample = json.loads((ROOT / "examples" / "breast_cancer_request.json").read_text())
    r = httpx.post(url + "/explain", json=sample, timeout=30)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["features"] == names
    assert additivity_error(body) < 1e-6
    assert np.asarray(body["local_importance_values"]).shape == (len(sample["instances"]), 2, len(names))
    bad = httpx.post(url + "/explain", json={"instances": [[1.0]]}, timeout=10)
    assert bad.status_code == 400 and "expected 30 values" in bad.json()["error"]
    metrics = httpx.get(url + "/metrics", timeout=10).text
    assert f'shapserve_explain_seconds_count{{model="{model_name}"' in metrics
    rows = [
        ln
        for ln in metrics.splitlines()
        if ln.startswith("shapserve_rows_total") and 'endpoint="explain"' in ln
    ]
    assert rows and float(rows[0].split()[-1]) >= len(sample["instances"])
    errors = [
        ln
        for ln in metrics.splitlines()
        if ln.startswith("shapserve_errors_total") and 'kind="wrong_width"' in ln
    ]
    assert errors and float(errors[0].split()[-1]) >= 1
    assert "bentoml_service_request_duration_seconds" in metrics
    # every route of the table is counted by route and status
    routes = [ln for ln in metrics.splitlines() if ln.startswith("shapserve_requests_total")]
    assert any('route="POST /explain"' in ln and 'status="200"' in ln for ln in routes), routes
    assert any('route="POST /explain"' in ln and 'status="400"' in ln for ln in routes), routes
    assert any('route="GET /metadata"' in ln for ln in routes), routes


@pytest.mark.slow
def test_shapserve_serve_real_process() -> None:
    _cli("demo")
    port = free_port()
    proc = subprocess.Popen(
        [str(BIN / "shapserve"), "serve", "--port", str(port)],
        env=_env(),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        _exercise(f"http://127.0.0.1:{port}", "shapserve-demo")
    finally:
        assert stop(proc) in (0, -15)


@pytest.mark.slow
def test_built_bento_is_served_and_called(tmp_path: Path) -> None:
    out = json.loads(_cli("demo", "--build").stdout)
    bento = out["bento_tag"]
    assert bento.startswith("shapserve:")
    archive = tmp_path / "shapserve.bento"
    subprocess.run(
        [str(BIN / "bentoml"), "export", bento, str(archive)], env=_env(), check=True, capture_output=True
    )
    # import the exported Bento into an EMPTY store and serve it from an unrelated directory: whatever
    # the server uses must have travelled inside the Bento (service code, scorers, the packaged model)
    env = _env()
    env["BENTOML_HOME"] = str(tmp_path / "fresh-store")
    env.pop("SHAPSERVE_MODEL", None)
    subprocess.run([str(BIN / "bentoml"), "import", str(archive)], env=env, check=True, capture_output=True)
    models = subprocess.run(
        [str(BIN / "bentoml"), "models", "list", "-o", "json"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert [m["tag"] for m in json.loads(models.stdout)] == [out["model_tag"]]
    port = free_port()
    log_path = tmp_path / "bento.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(BIN / "bentoml"), "serve", bento, "--port", str(port), "--host", "127.0.0.1"],
            env=env,
            cwd=tmp_path,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_ready(f"http://127.0.0.1:{port}", proc)
            _exercise(f"http://127.0.0.1:{port}", "shapserve-demo")
        finally:
            code = stop(proc)
    assert code in (0, -15), log_path.read_text()[-3000:]
