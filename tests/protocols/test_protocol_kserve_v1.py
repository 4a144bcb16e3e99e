"""KServe V1 on the packaged model's name: readiness, :predict and :explain equal /predict and /explain
(in process); another name is a 404 in our error shape."""

from __future__ import annotations

from typing import Any

from proto_helpers import additive
from serving_helpers import LOAN_ROW

LOAN_ROWS = [
    LOAN_ROW,
    [29.0, 31000.0, 0.55, 1.0, "rent", "education", "south"],
]


def _name(c: Any) -> str:
    return str(c.get("/metadata").json()["model"]["name"])


def test_v1_readiness_and_model_list(client: Any) -> None:
    c = client("loan")
    name = _name(c)
    assert c.get(f"/v1/models/{name}").json() == {"name": name, "ready": True}
    assert c.get("/v1/models").json() == {"models": [name]}


def test_v1_predict_and_explain_equal_ours(client: Any) -> None:
    c = client("loan")
    name = _name(c)
    predicted = c.post(f"/v1/models/{name}:predict", json={"instances": LOAN_ROWS})
    assert predicted.status_code == 200, predicted.text
    assert predicted.json() == c.post("/predict", json={"instances": LOAN_ROWS}).json()
    # KServe's own model servers also read "inputs"
    assert c.post(f"/v1/models/{name}:predict", json={"inputs": LOAN_ROWS}).json() == predicted.json()
    explained = c.post(f"/v1/models/{name}:explain", json={"instances": LOAN_ROWS, "top_k": 3})
    assert explained.status_code == 200, explained.text
    body = explained.json()
    assert body == c.post("/explain", json={"instances": LOAN_ROWS, "top_k": 3}).json()
    assert (
        additive(body["local_importance_values"], body["expected_values"], body["explained_outputs"]) < 1e-6
    )
    assert len(body["ranked"][0]["names"]) == 3


def test_v1_regressor(client: Any) -> None:
    c = client("reg")
    name = _name(c)
    rows = [[0.01] * 10, [-0.02] * 10]
    body = c.post(f"/v1/models/{name}:explain", json={"instances": rows}).json()
    assert body == c.post("/explain", json={"instances": rows}).json()
    assert "classes" not in body and len(body["local_importance_values"][0]) == 10


def test_v1_explain_error_estimate_as_explain(client: Any) -> None:
    """:explain takes /explain's error_estimate and max_error and answers what /explain does; off by
    default; a wrong value is a 400 naming the field."""
    c = client("loan")
    name = _name(c)
    assert "error_estimate" not in c.post(f"/v1/models/{name}:explain", json={"instances": LOAN_ROWS}).json()
    for extra in ({"error_estimate": True}, {"max_error": 1e-3}):
        body = {"instances": LOAN_ROWS, **extra}
        r = c.post(f"/v1/models/{name}:explain", json=body)
        assert r.status_code == 200, r.text
        assert r.json() == c.post("/explain", json=body).json()
        est = r.json()["error_estimate"]
        assert len(est["rows"]) == 2 and all(s > 0 for s in est["rows"])
    body = _err(
        c.post(f"/v1/models/{name}:explain", json={"instances": LOAN_ROWS, "error_estimate": "yes"}),
        400,
        "invalid_input",
    )
    assert body["field"] == "error_estimate"


def _err(r: Any, status: int, kind: str, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "kind", "row", "field"} and body["kind"] == kind, body
    for needle in needles:
        assert needle in body["error"], (needle, body)
    return body


def test_v1_another_name_is_a_404(client: Any) -> None:
    c = client("loan")
    name = _name(c)
    _err(c.get("/v1/models/nope"), 404, "not_found", "model 'nope' not found", f"serves '{name}'")
    _err(c.post("/v1/models/nope:predict", json={"instances": LOAN_ROWS}), 404, "not_found", "'nope'")
    _err(c.post("/v1/models/nope:explain", json={"instances": LOAN_ROWS}), 404, "not_found", "'nope'")


def test_v1_refuses_what_explain_refuses(client: Any) -> None:
    c = client("loan")
    name = _name(c)
    bad = [{**LOAN_ROWS[0], "age": "forty"}]
    for route, ours in ((":predict", "/predict"), (":explain", "/explain")):
        body = _err(c.post(f"/v1/models/{name}{route}", json={"instances": bad}), 400, "wrong_type")
        assert body == c.post(ours, json={"instances": bad}).json()
        assert body["field"] == "age" and body["row"] == 0
    _err(c.post(f"/v1/models/{name}:predict", json={}), 400, "invalid_input", "missing")
    _err(
        c.post(f"/v1/models/{name}:predict", json={"instances": LOAN_ROWS, "inputs": LOAN_ROWS}),
        400,
        "invalid_input",
        "not both",
    )
    _err(
        c.post(f"/v1/models/{name}:predict", json={"instance": LOAN_ROWS}),
        400,
        "invalid_input",
        "unknown key",
    )
    _err(
        c.post(f"/v1/models/{name}:explain", json={"instances": LOAN_ROWS, "top_k": 99}),
        400,
        "invalid_input",
        "between 1 and 7",
    )
