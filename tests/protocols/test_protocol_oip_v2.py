"""Open Inference Protocol (V2), in process: health, metadata, and infer with one [N, M] tensor or one
tensor per column (JSON and binary), answering tensors equal to /predict and /explain."""

from __future__ import annotations

import json
import struct
from typing import Any

import numpy as np
import pytest
from proto_helpers import additive, same

LOAN_COLUMNS = {
    "age": ("FP64", [41.0, 29.0, 55.0]),
    "income": ("FP64", [None, 31000.0, 72000.0]),
    "debt_ratio": ("FP64", [0.31, 0.55, 0.12]),
    "years_employed": ("INT64", [6, 1, 30]),
    "housing": ("BYTES", ["own", "rent", "mortgage"]),
    "purpose": ("BYTES", ["car", "education", "home"]),
    "region": ("BYTES", ["north", "south", "east"]),
}
LOAN_ROWS = [{k: v[i] for k, (_, v) in LOAN_COLUMNS.items()} for i in range(3)]


def _columns(
    columns: dict[str, tuple[str, list[Any]]] = LOAN_COLUMNS, shape1: bool = False
) -> list[dict[str, Any]]:
    return [
        {"name": k, "datatype": t, "shape": [len(v), 1] if shape1 else [len(v)], "data": v}
        for k, (t, v) in columns.items()
    ]


def _meta(c: Any) -> dict[str, Any]:
    return dict(c.get("/metadata").json())


def _outputs(body: dict[str, Any]) -> dict[str, np.ndarray]:
    return {o["name"]: np.asarray(o["data"]).reshape(o["shape"]) for o in body["outputs"]}


def _svc_rows(n: int = 3) -> list[list[float]]:
    """n rows of the seed's test split, in feature order."""
    from scorers.examples import breast_cancer_svc

    x_test = breast_cancer_svc()[2]
    return [[float(v) for v in row] for row in x_test.to_numpy()[:n]]


def test_health_and_server_metadata(client: Any) -> None:
    c = client("svc")
    assert c.get("/v2/health/live").json() == {"live": True}
    assert c.get("/v2/health/ready").json() == {"ready": True}
    server = c.get("/v2").json()
    assert server["name"] == "shapserve" and server["extensions"] == ["binary_tensor_data"]


def test_model_metadata_and_readiness(client: Any) -> None:
    c = client("loan")
    meta = _meta(c)
    name, version = meta["model"]["name"], meta["model"]["version"]
    v2 = c.get(f"/v2/models/{name}").json()
    assert v2["name"] == name and v2["versions"] == [version] and v2["platform"].startswith("shapserve")
    assert [(i["name"], i["datatype"], i["shape"]) for i in v2["inputs"]] == [
        (f["name"], "FP64" if f["dtype"] == "number" else "BYTES", [-1]) for f in meta["features"]
    ]
    outputs = {o["name"]: (o["datatype"], o["shape"]) for o in v2["outputs"]}
    k, m = len(meta["classes"]), len(meta["features"])
    assert outputs == {
        "predictions": ("BYTES", [-1]),
        "probabilities": ("FP64", [-1, k]),
        "classes": ("BYTES", [k]),
        "local_importance_values": ("FP64", [-1, k, m]),
        "expected_values": ("FP64", [k]),
        "explained_outputs": ("FP64", [-1, k]),
        "features": ("BYTES", [m]),
        "error_estimate": ("FP64", [-1]),
        "error_estimate_values": ("FP64", [-1, k, m]),
    }
    assert c.get(f"/v2/models/{name}/versions/{version}").json() == v2
    assert c.get(f"/v2/models/{name}/ready").json() == {"name": name, "ready": True}
    assert c.get(f"/v2/models/{name}/versions/{version}/ready").status_code == 200
    for path in ("/v2/models/nope", "/v2/models/nope/ready", f"/v2/models/{name}/versions/0/ready"):
        r = c.get(path)
        assert r.status_code == 404 and r.json()["kind"] == "not_found", (path, r.text)


@pytest.mark.parametrize("flat", [True, False])
def test_infer_one_matrix_equals_predict_and_explain(client: Any, flat: bool) -> None:
    c = client("svc")
    name = _meta(c)["model"]["name"]
    rows = _svc_rows()
    data = np.asarray(rows).ravel().tolist() if flat else rows
    request = {
        "id": "42",
        "parameters": {"explain": True},
        "inputs": [{"name": "input-0", "shape": [3, 30], "datatype": "FP64", "data": data}],
    }
    r = c.post(f"/v2/models/{name}/infer", json=request)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["id"] == "42" and body["model_name"] == name and body["parameters"] == {"output_space": "raw"}
    out = _outputs(body)
    predicted = c.post("/predict", json={"instances": rows}).json()
    explained = c.post("/explain", json={"instances": rows}).json()
    assert out["predictions"].tolist() == predicted["predictions"]
    assert same(out["probabilities"], predicted["probabilities"])
    assert out["classes"].tolist() == predicted["classes"]
    assert out["local_importance_values"].shape == (3, 2, 30)
    assert same(out["local_importance_values"], explained["local_importance_values"])
    assert same(out["expected_values"], explained["expected_values"])
    assert out["features"].tolist() == explained["features"]
    assert additive(out["local_importance_values"], out["expected_values"], out["explained_outputs"]) < 1e-6
    assert [o["datatype"] for o in body["outputs"]] == [
        "BYTES",
        "FP64",
        "BYTES",
        "FP64",
        "FP64",
        "FP64",
        "BYTES",
    ]


def test_infer_without_explain_answers_predictions_only(client: Any) -> None:
    c = client("svc")
    name = _meta(c)["model"]["name"]
    rows = _svc_rows(2)
    request = {"inputs": [{"name": "x", "shape": [2, 30], "datatype": "FP32", "data": rows}]}
    body = c.post(f"/v2/models/{name}/infer", json=request).json()
    assert [o["name"] for o in body["outputs"]] == ["predictions", "probabilities", "classes"]
    assert len(body["id"]) == 32 and "parameters" not in body  # an id is made when none was sent


def test_infer_one_tensor_per_column_with_bytes_and_nulls(client: Any) -> None:
    c = client("loan")
    name = _meta(c)["model"]["name"]
    explained = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    for shape1 in (False, True):
        request = {"inputs": _columns(shape1=shape1), "parameters": {"explain": True}}
        r = c.post(f"/v2/models/{name}/infer", json=request)
        assert r.status_code == 200, r.text
        out = _outputs(r.json())
        assert out["predictions"].tolist() == explained["predictions"]
        assert same(out["local_importance_values"], explained["local_importance_values"])
        assert same(out["explained_outputs"], explained["explained_outputs"])


def test_outputs_requested_by_name(client: Any) -> None:
    c = client("loan")
    name = _meta(c)["model"]["name"]
    explained = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    request = {
        "inputs": _columns(),
        "outputs": [
            {"name": "local_importance_values"},
            {"name": "predictions", "parameters": {"binary_data": False}},
        ],
    }
    body = c.post(f"/v2/models/{name}/infer", json=request).json()
    assert [o["name"] for o in body["outputs"]] == ["local_importance_values", "predictions"]
    assert same(_outputs(body)["local_importance_values"], explained["local_importance_values"])
    assert body["parameters"]["output_space"] == explained["output_space"]


@pytest.mark.parametrize("model", ["svc", "reg"])
def test_error_estimate_tensors_only_when_asked(client: Any, model: str) -> None:
    """``parameters.error_estimate`` (or an output named after it) adds the per-row sigma ``[N]`` and the
    per-value sigma shaped like the values, equal to /explain's ``error_estimate``; nothing without it."""
    c = client(model)
    meta = _meta(c)
    name, m = meta["model"]["name"], len(meta["features"])
    rows = _svc_rows() if model == "svc" else [[0.01] * m, [-0.02] * m, [0.03] * m]
    tensor = [{"name": "x", "shape": [3, m], "datatype": "FP64", "data": rows}]
    explained = c.post("/explain", json={"instances": rows, "error_estimate": True}).json()
    plain = c.post(f"/v2/models/{name}/infer", json={"inputs": tensor, "parameters": {"explain": True}})
    assert not {"error_estimate", "error_estimate_values"} & {o["name"] for o in plain.json()["outputs"]}
    r = c.post(f"/v2/models/{name}/infer", json={"inputs": tensor, "parameters": {"error_estimate": True}})
    assert r.status_code == 200, r.text
    out = _outputs(r.json())
    assert "local_importance_values" in out  # the estimate comes with the explanation it is about
    assert out["error_estimate"].shape == (3,)
    assert same(out["error_estimate"], explained["error_estimate"]["rows"])
    assert out["error_estimate_values"].shape == out["local_importance_values"].shape
    assert same(out["error_estimate_values"], explained["error_estimate"]["values"])
    assert np.all(out["error_estimate"] > 0)  # the stated background part, at least
    named = {"inputs": tensor, "outputs": [{"name": "error_estimate", "parameters": {"binary_data": False}}]}
    body = c.post(f"/v2/models/{name}/infer", json=named).json()
    assert [o["name"] for o in body["outputs"]] == ["error_estimate"]
    assert same(_outputs(body)["error_estimate"], explained["error_estimate"]["rows"])
    bad = c.post(f"/v2/models/{name}/infer", json={"inputs": tensor, "parameters": {"error_estimate": 1}})
    assert bad.status_code == 400 and bad.json()["field"] == "parameters.error_estimate", bad.text


def test_regressor_tensors(client: Any) -> None:
    c = client("reg")
    name = _meta(c)["model"]["name"]
    rows = [[0.01] * 10, [-0.02] * 10]
    explained = c.post("/explain", json={"instances": rows}).json()
    request = {
        "inputs": [{"name": "x", "shape": [2, 10], "datatype": "FP64", "data": rows}],
        "parameters": {"explain": True},
    }
    body = c.post(f"/v2/models/{name}/infer", json=request).json()
    out = _outputs(body)
    assert set(out) == {
        "predictions",
        "local_importance_values",
        "expected_values",
        "explained_outputs",
        "features",
    }
    assert out["local_importance_values"].shape == (2, 10) and out["expected_values"].shape == (1,)
    assert same(out["predictions"], explained["predictions"])
    assert additive(out["local_importance_values"], out["expected_values"], out["explained_outputs"]) < 1e-6
    bad = c.post(f"/v2/models/{name}/infer", json={**request, "outputs": [{"name": "probabilities"}]})
    assert bad.status_code == 400 and bad.json()["field"] == "outputs.0.name"


def _binary(tensors: list[tuple[str, str, list[int], bytes]], **extra: Any) -> tuple[bytes, dict[str, str]]:
    """Triton's binary tensor format, written from its documentation: JSON header, then raw tensors."""
    header = {
        **extra,
        "inputs": [
            {"name": n, "datatype": t, "shape": s, "parameters": {"binary_data_size": len(b)}}
            for n, t, s, b in tensors
        ],
    }
    raw = json.dumps(header).encode()
    body = raw + b"".join(b for *_, b in tensors)
    return body, {
        "inference-header-content-length": str(len(raw)),
        "content-type": "application/octet-stream",
    }


def _bytes_tensor(values: list[str]) -> bytes:
    return b"".join(struct.pack("<I", len(v.encode())) + v.encode() for v in values)


def test_binary_tensor_data(client: Any) -> None:
    c = client("loan")
    name = _meta(c)["model"]["name"]
    tensors = []
    for k, (t, v) in LOAN_COLUMNS.items():
        if t == "BYTES":
            tensors.append((k, t, [3], _bytes_tensor(v)))
        else:
            arr = np.asarray([np.nan if x is None else x for x in v], dtype="<f8" if t == "FP64" else "<i8")
            tensors.append((k, t, [3], arr.tobytes()))
    body, headers = _binary(tensors, id="bin", parameters={"explain": True})
    r = c.post(f"/v2/models/{name}/infer", content=body, headers=headers)
    assert r.status_code == 200, r.text
    explained = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    assert r.json()["id"] == "bin"
    assert same(_outputs(r.json())["local_importance_values"], explained["local_importance_values"])
    # a JSON body with no Content-Type at all (Triton's client sends none)
    plain = json.dumps({"inputs": _columns()}).encode()
    assert c.post(f"/v2/models/{name}/infer", content=plain).status_code == 200
    # sizes that do not add up are refused, naming the input
    short = body[:-3]
    bad = c.post(f"/v2/models/{name}/infer", content=short, headers=headers)
    assert bad.status_code == 400 and bad.json()["field"] == "inputs.region", bad.text
    extra = c.post(f"/v2/models/{name}/infer", content=body + b"xx", headers=headers)
    assert extra.status_code == 400 and "2 bytes after" in extra.json()["error"]


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"inputs": []}, "inputs", "at least one input"),
        ({"outputs": [{"name": "shap"}]}, "outputs.0.name", "unknown output 'shap'"),
        ({"parameters": {"explain": "yes"}}, "parameters.explain", "true or false"),
        (
            {"inputs": [{"name": "x", "shape": [1, 7], "datatype": "FP64", "data": [1] * 6}]},
            "inputs.x",
            "holds 7",
        ),
        (
            {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP64", "data": [1] * 3}]},
            "inputs.x",
            "[N, 7]",
        ),
        (
            {"inputs": [{"name": "age", "shape": [2], "datatype": "FP99", "data": [1, 2]}]},
            "inputs.age",
            "unknown datatype",
        ),
        (
            {"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": ["41"]}]},
            "inputs.age",
            "expects numbers",
        ),
        (
            {"inputs": [{"name": "age", "shape": [1], "datatype": "INT32", "data": [4.5]}]},
            "inputs.age",
            "integers",
        ),
        (
            {"inputs": [{"name": "age", "shape": [1], "datatype": "BYTES", "data": [4]}]},
            "inputs.age",
            "strings",
        ),
        ({"inputs": [{"name": "age", "shape": [1]}]}, "inputs.0.datatype", "required"),
        ({"inputs": [{"name": "age", "shape": [1], "datatype": "FP64"}]}, "inputs.age", "no 'data'"),
        (
            {"inputs": [{"name": "age", "shape": ["1"], "datatype": "FP64", "data": [1]}]},
            "inputs.0.shape.0",
            "integer",
        ),
        (
            {"inputs": [{"name": "age", "shape": [2, 2], "datatype": "FP64", "data": [1] * 4}]},
            "inputs.age",
            "[N, 1]",
        ),
        (
            {"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1], "foo": 1}]},
            "inputs.0.foo",
            "unknown key",
        ),
    ],
)
def test_infer_refusals_name_the_field(client: Any, change: dict[str, Any], field: str, needle: str) -> None:
    c = client("loan")
    name = _meta(c)["model"]["name"]
    r = c.post(f"/v2/models/{name}/infer", json={"inputs": _columns(), **change})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["field"] == field and needle in body["error"], body


def test_infer_rows_are_checked_like_explain(client: Any) -> None:
    c = client("loan")
    name = _meta(c)["model"]["name"]
    columns = dict(LOAN_COLUMNS)
    columns["age"] = ("BYTES", ["41", "29", "55"])  # numbers sent as strings: not coerced
    r = c.post(f"/v2/models/{name}/infer", json={"inputs": _columns(columns)})
    assert r.status_code == 400 and r.json()["kind"] == "wrong_type" and r.json()["field"] == "age"
    missing = {k: v for k, v in LOAN_COLUMNS.items() if k != "region"}
    r = c.post(f"/v2/models/{name}/infer", json={"inputs": _columns(missing)})
    assert r.status_code == 400 and r.json()["kind"] == "missing_feature" and r.json()["field"] == "region"
    unknown = {**LOAN_COLUMNS, "colour": ("BYTES", ["red", "red", "red"])}
    r = c.post(f"/v2/models/{name}/infer", json={"inputs": _columns(unknown)})
    assert r.status_code == 400 and r.json()["kind"] == "unknown_feature" and r.json()["field"] == "colour"
    r = c.post("/v2/models/nope/infer", json={"inputs": _columns()})
    assert r.status_code == 404 and r.json()["kind"] == "not_found"
    limited = client("loan", SHAPSERVE_MAX_ROWS="2")
    r = limited.post(f"/v2/models/{name}/infer", json={"inputs": _columns()})
    assert r.status_code == 400 and "limit of 2" in r.json()["error"]


def _read_binary(r: Any) -> dict[str, np.ndarray]:
    """A binary tensor response, read as its documentation describes it."""
    size = int(r.headers["inference-header-content-length"])
    header = json.loads(r.content[:size])
    offset, out = size, {}
    for o in header["outputs"]:
        if "data" in o:
            out[o["name"]] = np.asarray(o["data"]).reshape(o["shape"])
            continue
        n = o["parameters"]["binary_data_size"]
        raw = r.content[offset : offset + n]
        offset += n
        if o["datatype"] == "BYTES":
            items, i = [], 0
            while i < len(raw):
                length = struct.unpack("<I", raw[i : i + 4])[0]
                items.append(raw[i + 4 : i + 4 + length].decode())
                i += 4 + length
            out[o["name"]] = np.asarray(items).reshape(o["shape"])
        else:
            out[o["name"]] = np.frombuffer(raw, dtype="<f8").reshape(o["shape"])
    assert offset == len(r.content)
    return out


def test_binary_outputs_when_asked(client: Any) -> None:
    c = client("loan")
    name = _meta(c)["model"]["name"]
    explained = c.post("/explain", json={"instances": LOAN_ROWS}).json()
    every = {"inputs": _columns(), "parameters": {"explain": True, "binary_data_output": True}}
    r = c.post(f"/v2/models/{name}/infer", json=every)
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream", r.text
    out = _read_binary(r)
    assert out["predictions"].tolist() == explained["predictions"]
    assert same(out["local_importance_values"], explained["local_importance_values"])
    assert out["features"].tolist() == explained["features"]
    # per output: binary for one, JSON for the other, whatever the request-level default says
    mixed = {
        "inputs": _columns(),
        "parameters": {"binary_data_output": True},
        "outputs": [{"name": "probabilities", "parameters": {"binary_data": False}}, {"name": "predictions"}],
    }
    r = c.post(f"/v2/models/{name}/infer", json=mixed)
    header = json.loads(r.content[: int(r.headers["inference-header-content-length"])])
    assert "data" in header["outputs"][0] and "data" not in header["outputs"][1]
    assert _read_binary(r)["predictions"].tolist() == explained["predictions"]
    bad = c.post(
        f"/v2/models/{name}/infer", json={"inputs": _columns(), "parameters": {"binary_data_output": 1}}
    )
    assert bad.status_code == 400 and bad.json()["field"] == "parameters.binary_data_output"
