"""The clouds' container contracts, in process and with their own clients: SageMaker (``/ping``,
``/invocations`` JSON and CSV, ``Accept``, Clarify's answer shape; boto3's ``sagemaker-runtime`` client
pointed at a real server), Vertex AI (the ``AIP_*`` routes, bodies and refusals) and the Azure ML
managed online YAML loaded by ``azure-ai-ml``'s own schema.  Values are checked against the brute-force
oracle in tests/service/test_served_truth.py; here the answers equal /predict and /explain."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from proto_helpers import ROOT, additive, run_client
from serving_helpers import LOAN_ROW

from service.json_codec import dumps
from service.routes import vertex
from service.settings import Settings

LOAN_ROWS = [LOAN_ROW, [29.0, 31000.0, 0.55, 1.0, "rent", "education", "south"]]
CSV = (
    "\n".join(
        ",".join("" if v is None else str(v) for v in row) for row in [list(LOAN_ROW.values()), LOAN_ROWS[1]]
    )
    + "\n"
)  # feature order (LOAN_ROW's keys are in it), an empty cell for the missing income


def _features(c: Any) -> list[str]:
    return [f["name"] for f in c.get("/metadata").json()["features"]]


def _post(c: Any, path: str, body: str, **headers: str) -> Any:
    return c.post(path, content=body.encode(), headers={"content-type": "text/csv", **headers})


def test_ping_is_open_and_ready(client: Any) -> None:
    c = client("loan", SHAPSERVE_API_KEY="k")
    r = c.get("/ping")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert c.post("/invocations", json={"instances": LOAN_ROWS}).status_code == 401  # scoring keeps the key


def test_invocations_json_and_csv_equal_explain(client: Any) -> None:
    c = client("loan")
    explained = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    assert c.post("/invocations", json={"instances": LOAN_ROWS}).json() == explained
    assert c.post("/invocations", json=LOAN_ROWS).json() == explained  # a bare list of rows
    r = _post(c, "/invocations", CSV)
    assert r.status_code == 200 and r.json() == explained
    header = ",".join(_features(c)) + "\n"
    assert _post(c, "/invocations", header + CSV).json() == explained  # a header line is skipped
    assert _post(c, "/endpoints/any-name/invocations", CSV).json() == explained  # the runtime's path


def test_invocations_json_is_compact_as_every_answer(client: Any) -> None:
    """docs/api.md: every JSON answer is compact (the one encoder, service/json_codec.py); SageMaker's JSON
    and Clarify answers were written by the standard library with spaces."""
    c = client("loan")
    plain = c.post("/invocations", json={"instances": LOAN_ROWS})
    clarify = _post(c, "/invocations", CSV, **{"X-Amzn-SageMaker-Enable-Explanations": "`true`"})
    for r in (plain, clarify):
        assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
        assert r.content == dumps(r.json())


def test_invocations_error_estimate_beside_instances(client: Any) -> None:
    """``{"instances", "error_estimate"}`` answers /explain's answer with the error estimate; off by
    default; refused (naming the field) where the answer has no place for it (CSV, Clarify) or when
    it is not a boolean."""
    c = client("loan")
    body = {"instances": LOAN_ROWS, "error_estimate": True}
    r = c.post("/invocations", json=body)
    assert r.status_code == 200, r.text
    assert r.json() == c.post("/explain", json=body).json()
    assert len(r.json()["error_estimate"]["rows"]) == len(LOAN_ROWS)
    assert "error_estimate" not in c.post("/invocations", json={"instances": LOAN_ROWS}).json()
    for headers in ({"accept": "text/csv"}, {"x-amzn-sagemaker-enable-explanations": "`true`"}):
        r = c.post("/invocations", json=body, headers=headers)
        assert r.status_code == 400 and r.json()["field"] == "error_estimate", r.text
    r = c.post("/invocations", json={"instances": LOAN_ROWS, "error_estimate": "yes"})
    assert r.status_code == 400 and r.json()["field"] == "error_estimate", r.text


def test_invocations_accept_csv_answers_predictions(client: Any) -> None:
    c = client("loan")
    predicted = c.post("/predict", json={"instances": LOAN_ROWS}).json()
    r = _post(c, "/invocations", CSV, accept="text/csv")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = [ln.split(",") for ln in r.text.splitlines()]
    assert [ln[0] for ln in lines] == [str(p) for p in predicted["predictions"]]
    assert [[float(p) for p in ln[1:]] for ln in lines] == predicted["probabilities"]


def test_invocations_clarify_shape(client: Any) -> None:
    c = client("loan")
    explained = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    h = {"accept": "application/json", "x-amzn-sagemaker-enable-explanations": "`true`"}
    out = _post(c, "/invocations", CSV, **h).json()
    assert out["version"] == "1.0" and out["predictions"]["content_type"] == "application/json"
    assert json.loads(out["predictions"]["data"])["predictions"] == explained["predictions"]
    records = out["explanations"]["kernel_shap"]
    values = [
        [[f["attributions"][k]["attribution"][0] for f in record] for k in range(len(explained["classes"]))]
        for record in records
    ]
    assert values == explained["local_importance_values"]
    assert [f["feature_header"] for f in records[0]] == explained["features"]
    assert [a["label_header"] for a in records[0][0]["attributions"]] == [
        str(k) for k in explained["classes"]
    ]
    assert additive(values, explained["expected_values"], explained["explained_outputs"]) < 1e-9
    h["x-amzn-sagemaker-enable-explanations"] = "`false`"
    out = _post(c, "/invocations", CSV, **h).json()
    assert out["explanations"] == {} and json.loads(out["predictions"]["data"])["predictions"]


@pytest.mark.parametrize(
    ("body", "headers", "status", "field"),
    [
        ("1,2\n", {}, 400, "body"),  # too few values: names the row
        (CSV, {"accept": "application/xml"}, 406, None),
        (
            CSV,
            {"x-amzn-sagemaker-enable-explanations": "[0]>`0.8`"},
            400,
            "X-Amzn-SageMaker-Enable-Explanations",
        ),
    ],
)
def test_invocations_refusals(
    client: Any, body: str, headers: dict[str, str], status: int, field: str
) -> None:
    r = _post(client("loan"), "/invocations", body, **headers)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    if field == "body":
        assert r.json()["row"] == 0 and "has 2 values; the model takes 7" in r.json()["error"]


def test_vertex_routes_follow_aip_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIP_HEALTH_ROUTE", "/vertex/health")
    monkeypatch.setenv("AIP_PREDICT_ROUTE", "/vertex/predict")
    paths = {(r.method, r.path) for r in vertex.routes(Settings())}  # type: ignore[call-arg]
    assert {
        ("GET", "/vertex/health"),
        ("POST", "/vertex/predict"),
        ("POST", "/vertex/predict:explain"),
    } <= paths
    monkeypatch.delenv("AIP_HEALTH_ROUTE")
    monkeypatch.setenv("AIP_PREDICT_ROUTE", "/v1/endpoints/1/deployedModels/2:predict")
    assert ("POST", "/v1/endpoints/1/deployedModels/2:explain") in {
        (r.method, r.path)
        for r in vertex.routes(Settings())  # type: ignore[call-arg]
    }


def test_vertex_bodies(client: Any) -> None:
    c = client("loan")
    base = "/v1/endpoints/e/deployedModels/d"
    predicted = c.post("/predict", json={"instances": LOAN_ROWS}).json()
    out = c.post(base + ":predict", json={"instances": LOAN_ROWS, "parameters": None}).json()
    assert (
        out["predictions"] == predicted["predictions"] and out["probabilities"] == predicted["probabilities"]
    )
    r = c.post(base + ":predict", json={"instances": LOAN_ROWS, "parameters": {"top_k": 2}})
    assert r.status_code == 400 and r.json()["field"] == "parameters"
    assert r.json()["error"] == "field 'parameters': shapserve takes no parameters (send null or {})"
    r = c.post(base + ":explain", json={"rows": LOAN_ROWS})
    assert r.status_code == 400, r.text
    explained = c.post(base + ":explain", json={"instances": LOAN_ROWS}).json()
    reference = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    first = explained["explanations"][1]["attributions"][1]
    assert first["featureAttributions"] == dict(
        zip(reference["features"], reference["local_importance_values"][1][1], strict=True)
    )
    assert first["baselineOutputValue"] == reference["expected_values"][1]
    assert first["instanceOutputValue"] == reference["explained_outputs"][1][1]


@pytest.mark.slow
def test_boto3_sagemaker_runtime_reads_shapserve(
    servers: dict[str, str], seed_frames: dict[str, Any]
) -> None:
    """boto3's invoke_endpoint, as a SageMaker client calls it, answered by a real server (the seed's SVC)."""
    rows = seed_frames["x_test"].iloc[:3]
    body = rows.to_csv(header=False, index=False)
    spec = {"url": servers["svc"], "endpoint": "seed", "body": body, "content_type": "text/csv"}
    out = run_client("sagemaker_client.py", {**spec, "accept": "text/csv"})
    assert out["content_type"].startswith("text/csv") and len(out["body"].splitlines()) == 3
    out = run_client("sagemaker_client.py", {**spec, "accept": "application/json", "explanations": "`true`"})
    clarify = json.loads(out["body"])
    assert len(clarify["explanations"]["kernel_shap"]) == 3
    assert [f["feature_header"] for f in clarify["explanations"]["kernel_shap"][0]] == list(rows.columns)


def test_azureml_yaml_loads_with_azure_ai_ml(tmp_path: Path) -> None:
    spec = {
        "endpoint": str(ROOT / "deploy/azureml/endpoint.yml"),
        "deployment": str(ROOT / "deploy/azureml/deployment.yml"),
    }
    out = run_client("azureml_load.py", spec)
    assert out["endpoint"] == {"name": "shapserve", "auth_mode": "key", "type": "ManagedOnlineEndpoint"}
    d = out["deployment"]
    assert d["type"] == "ManagedOnlineDeployment" and d["endpoint_name"] == "shapserve" and d["model"] is None
    assert d["routes"] == {
        "liveness_route": {"port": 3000, "path": "/livez"},
        "readiness_route": {"port": 3000, "path": "/readyz"},
        "scoring_route": {"port": 3000, "path": "/score"},
    }
    assert d["environment_variables"]["SHAPSERVE_PORT"] == "3000"
    # the schema does refuse: a wrong auth mode fails to load
    bad = tmp_path / "endpoint.yml"
    shutil.copy(spec["endpoint"], bad)
    bad.write_text(bad.read_text().replace("auth_mode: key", "auth_mode: password"))
    with pytest.raises(AssertionError, match="auth_mode"):
        run_client("azureml_load.py", {**spec, "endpoint": str(bad)})
