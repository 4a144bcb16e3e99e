"""Clients that no one here wrote, against real ``bentoml serve`` processes: the seed's
``requests.post(scoring_uri, examples.to_json(), headers=...)``, KServe's Python SDK (V1 and V2) and
Triton's HTTP client (V2, binary and JSON tensors).  Every answer is checked against the same server's
/predict and /explain, and for additivity; /metrics counts each new route."""

from __future__ import annotations

import json
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
import requests
from proto_helpers import API_KEY, additive, run_client, same
from serving_helpers import LOAN_ROW

pytestmark = pytest.mark.slow  # real server processes, like tests/service/test_process.py

AUTH = {"Authorization": f"Bearer {API_KEY}"}
LOAN_ROWS = [
    LOAN_ROW,
    {
        "age": 29.0,
        "income": 31000.0,
        "debt_ratio": 0.55,
        "years_employed": 1.0,
        "housing": "rent",
        "purpose": "education",
        "region": "south",
    },
]


def _ours(
    url: str, rows: list[Any], headers: dict[str, str] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same server's /predict and /explain of ``rows``."""
    p = httpx.post(url + "/predict", json={"instances": rows}, headers=headers, timeout=60)
    e = httpx.post(url + "/explain", json={"instances": rows}, headers=headers, timeout=60)
    assert p.status_code == 200 and e.status_code == 200, (p.text, e.text)
    return p.json(), e.json()


def _name(url: str, headers: dict[str, str] | None = None) -> str:
    return str(httpx.get(url + "/metadata", headers=headers, timeout=10).json()["model"]["name"])


def test_the_seeds_call_with_requests(servers: dict[str, str], seed_frames: dict[str, Any]) -> None:
    scoring_uri = servers["svc"] + "/score"
    examples = seed_frames["x_test"][:4]
    predicted, explained = _ours(servers["svc"], json.loads(examples.to_json(orient="records")))
    bodies = {
        o: examples.to_json(orient=o) for o in ("columns", "records", "split", "index", "values", "table")
    }
    bodies["seed"] = examples.to_json()  # the seed's own line
    bodies["azureml-data"] = json.dumps({"data": examples.to_numpy().tolist()})
    bodies["azureml-records"] = json.dumps({"data": json.loads(examples.to_json(orient="records"))})
    for orient, input_data in bodies.items():
        headers = {"Content-Type": "application/json"}
        resp = requests.post(scoring_uri, input_data, headers=headers, timeout=60)
        assert resp.status_code == 200, (orient, resp.text)
        body = resp.json()
        assert body["predictions"] == predicted["predictions"], orient
        values = np.asarray(body["local_importance_values"])
        assert values.shape == (2, 4, 30)  # Azure ML's layout: [class][row][feature]
        assert same(values.transpose(1, 0, 2), explained["local_importance_values"]), orient
        assert same(body["probabilities"], predicted["probabilities"])
        assert additive(values, body["expected_values"], body["explained_outputs"], "class-row") < 1e-6
    # the seed's answer read back as the seed would: pandas on the JSON
    assert pd.DataFrame(json.loads(resp.text)["predictions"]).shape == (4, 1)


def _tensor_outputs(out: dict[str, Any]) -> dict[str, np.ndarray]:
    return {name: np.asarray(t["data"]).reshape(t["shape"]) for name, t in out["outputs"].items()}


def _check_v2(out: dict[str, Any], predicted: dict[str, Any], explained: dict[str, Any]) -> None:
    tensors = _tensor_outputs(out)
    assert tensors["predictions"].tolist() == predicted["predictions"]
    assert same(tensors["probabilities"], predicted["probabilities"])
    assert same(tensors["local_importance_values"], explained["local_importance_values"])
    assert same(tensors["expected_values"], explained["expected_values"])
    assert (
        additive(tensors["local_importance_values"], tensors["expected_values"], tensors["explained_outputs"])
        < 1e-6
    )
    assert out["parameters"]["output_space"] == explained["output_space"]


def _svc_spec(servers: dict[str, str], seed_frames: dict[str, Any]) -> tuple[dict[str, Any], list[Any]]:
    rows = seed_frames["x_test"][:3].to_numpy().tolist()
    tensors = [{"name": "input-0", "datatype": "FP64", "shape": [3, 30], "data": rows}]
    return {
        "url": servers["svc"],
        "model": _name(servers["svc"]),
        "key": None,
        "rows": rows,
        "tensors": tensors,
    }, rows


def _loan_spec(servers: dict[str, str]) -> dict[str, Any]:
    tensors = []
    for column in LOAN_ROWS[0]:
        values = [row[column] for row in LOAN_ROWS]
        datatype = "BYTES" if isinstance(values[0], str) else "FP64"
        tensors.append({"name": column, "datatype": datatype, "shape": [len(values)], "data": values})
    url = servers["loan"]
    return {"url": url, "model": _name(url, AUTH), "key": API_KEY, "rows": LOAN_ROWS, "tensors": tensors}


def test_kserve_sdk_v1_and_v2(servers: dict[str, str], seed_frames: dict[str, Any]) -> None:
    svc, rows = _svc_spec(servers, seed_frames)
    for spec, headers in ((svc, None), (_loan_spec(servers), AUTH)):
        predicted, explained = _ours(spec["url"], spec["rows"], headers)
        out = run_client("kserve_client.py", spec)
        v1 = out["v1"]
        assert v1["model_ready"] is True
        assert v1["predict"] == predicted and v1["explain"] == explained
        assert (
            additive(
                explained["local_importance_values"],
                explained["expected_values"],
                explained["explained_outputs"],
            )
            < 1e-6
        )
        assert v1["not_found"]["status"] == 404 and "model 'nope' not found" in v1["not_found"]["message"]
        assert v1["not_found"]["body"]["kind"] == "not_found"
        v2 = out["v2"]
        assert v2["server_live"] is True and v2["server_ready"] is True and v2["model_ready"] is True
        for mode in ("json", "binary"):
            assert v2[mode]["id"] == f"kserve-{mode == 'binary'}"
            _check_v2(v2[mode], predicted, explained)
        named = _tensor_outputs(v2["named"])
        assert list(named) == ["predictions", "probabilities"]
        assert named["predictions"].tolist() == predicted["predictions"]
        assert same(named["probabilities"], predicted["probabilities"])
        assert v2["not_found"]["status"] == 404
        if spec["key"]:
            assert out["v1"]["unauthorized"]["status"] == 401


def test_triton_client_v2(servers: dict[str, str], seed_frames: dict[str, Any]) -> None:
    svc, _ = _svc_spec(servers, seed_frames)
    for spec, headers in ((svc, None), (_loan_spec(servers), AUTH)):
        predicted, explained = _ours(spec["url"], spec["rows"], headers)
        out = run_client("triton_client.py", spec)
        assert out["server_live"] and out["server_ready"] and out["model_ready"]
        assert out["server_metadata"]["name"] == "shapserve"
        meta = out["model_metadata"]
        assert meta["name"] == spec["model"] and len(meta["inputs"]) == len(explained["features"])
        for mode in ("binary", "json"):
            assert out[mode]["id"] == f"triton-{mode == 'binary'}"
            _check_v2(out[mode], predicted, explained)
        named = out["named"]
        assert list(named["outputs"]) == [
            "local_importance_values",
            "predictions",
            "explained_outputs",
            "expected_values",
        ]
        tensors = _tensor_outputs(named)
        assert same(tensors["local_importance_values"], explained["local_importance_values"])
        assert tensors["predictions"].tolist() == predicted["predictions"]
        assert out["not_found"]["status"] == "404" or out["not_found"]["status"] == 404
        assert "model 'nope' not found" in out["not_found"]["message"]
        if spec["key"]:
            assert str(out["unauthorized"]["status"]) == "401"


def test_metrics_count_every_new_route(servers: dict[str, str]) -> None:
    """Runs after the clients above (file order): each route they called is counted by route and status."""
    for name in ("svc", "loan"):
        metrics = httpx.get(servers[name] + "/metrics", timeout=10).text
        lines = [ln for ln in metrics.splitlines() if ln.startswith("shapserve_requests_total")]
        counted = {ln.split('route="')[1].split('"')[0] for ln in lines}
        # the clients' calls on another model name were counted with their status
        for route in ("POST /v1/models/{name}:predict", "POST /v2/models/{name}/infer"):
            assert any(f'route="{route}"' in ln and 'status="404"' in ln for ln in lines), (name, route)
            assert any(f'route="{route}"' in ln and 'status="200"' in ln for ln in lines), (name, route)
        expected = {
            "POST /v1/models/{name}:predict",
            "POST /v1/models/{name}:explain",
            "GET /v1/models/{name}",
            "POST /v2/models/{name}/infer",
            "GET /v2/models/{name}/ready",
            "GET /v2/health/live",
            "GET /v2/health/ready",
            "GET /v2",
            "GET /v2/models/{name}",
        }
        if name == "svc":
            expected.add("POST /score")
        assert expected <= counted, (name, expected - counted)
