"""Every protocol route is behind the same guard as /explain: the API key (only the V2 server health
probes are open), the body limit, the content type, the in-flight limit on scoring routes.  /metrics
counts them: scraped from a real server in test_protocol_clients.py."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from serving_helpers import LOAN_ROW

from service.routes import ROUTES

KEY = {"Authorization": "Bearer proto-guard"}
ROW = LOAN_ROW
V2_INPUTS = {
    "inputs": [
        {"name": k, "shape": [1], "datatype": "BYTES" if isinstance(v, str) else "FP64", "data": [v]}
        for k, v in ROW.items()
    ]
}
OURS = {
    "/predict",
    "/explain",
    "/metadata",
    "/explain_global",
    "/docs.json",
    "/explain_jobs",
    "/explain_jobs/{id}",
    "/explain_interactions",
    "/counterfactuals",
    "/monitoring",
    "/explanations",
    "/explanations/{id}",
}


def _calls(name: str) -> list[tuple[str, str, Any]]:
    return [
        ("POST", "/score", [ROW]),
        ("GET", "/v1/models", None),
        ("GET", f"/v1/models/{name}", None),
        ("POST", f"/v1/models/{name}:predict", {"instances": [ROW]}),
        ("POST", f"/v1/models/{name}:explain", {"instances": [ROW]}),
        ("GET", "/v2", None),
        ("GET", f"/v2/models/{name}", None),
        ("GET", f"/v2/models/{name}/ready", None),
        ("POST", f"/v2/models/{name}/infer", V2_INPUTS),
    ]


def test_the_table_marks_protocol_routes() -> None:
    # the dashboard's routes are checked in tests/dashboard (its page and files are open on purpose)
    new = [s for s in ROUTES if s.path not in OURS and "dashboard" not in s.tags]
    vertex = "/v1/endpoints/{endpoint}/deployedModels/{deployed_model}"
    assert {s.name for s in new if s.open} == {
        "GET /v2/health/live",
        "GET /v2/health/ready",
        "GET /ping",  # SageMaker's health check
        f"GET {vertex}",  # Vertex AI's default health route
    }
    scoring = {s.name for s in new if s.scoring}
    assert scoring == {
        "POST /score",
        "POST /v1/models/{name}:predict",
        "POST /v1/models/{name}:explain",
        "POST /v2/models/{name}/infer",
        "POST /v2/models/{name}/versions/{version}/infer",
        "POST /invocations",
        "POST /endpoints/{name}/invocations",
        f"POST {vertex}:predict",
        f"POST {vertex}:explain",
    }
    assert all(s.body is not None for s in new if s.method == "POST")


def test_the_api_key_guards_every_protocol_route_but_the_probes(client: Any) -> None:
    c = client("loan", SHAPSERVE_API_KEY="proto-guard")
    name = c.get("/metadata", headers=KEY).json()["model"]["name"]
    for method, path, body in _calls(name):
        refused = c.request(method, path, json=body)
        assert refused.status_code == 401 and refused.json()["kind"] == "unauthorized", path
        assert refused.headers["www-authenticate"] == "Bearer"
        ok = c.request(method, path, json=body, headers=KEY)
        assert ok.status_code == 200, (path, ok.text)
    for path in ("/v2/health/live", "/v2/health/ready"):
        assert c.get(path).status_code == 200


def test_the_body_limit_holds_before_parsing(client: Any) -> None:
    c = client("loan", SHAPSERVE_MAX_BODY_BYTES="2000")
    name = c.get("/metadata").json()["model"]["name"]
    big = [ROW] * 20  # about 2.7 kB of JSON
    for path, body in (
        ("/score", big),
        (f"/v1/models/{name}:predict", {"instances": big}),
        (f"/v2/models/{name}/infer", {"inputs": V2_INPUTS["inputs"] * 20}),
    ):
        r = c.post(path, content=json.dumps(body), headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["kind"] == "body_too_large", (path, r.text)
    raw = b"{}" + b"\0" * 3000
    r = c.post(
        f"/v2/models/{name}/infer",
        content=raw,
        headers={"content-type": "application/octet-stream", "inference-header-content-length": "2"},
    )
    assert r.status_code == 413


def test_content_types(client: Any) -> None:
    c = client("loan")
    name = c.get("/metadata").json()["model"]["name"]
    for path in ("/score", f"/v1/models/{name}:predict"):
        r = c.post(path, content=b"[]", headers={"content-type": "text/plain"})
        assert r.status_code == 415 and "application/json" in r.json()["error"], path
        assert c.post(path, content=b"[]").status_code == 415  # no Content-Type
    r = c.post(
        f"/v2/models/{name}/infer", content=json.dumps(V2_INPUTS), headers={"content-type": "text/plain"}
    )
    assert r.status_code == 415 and "application/octet-stream" in r.json()["error"]


@pytest.mark.parametrize(
    ("path", "ctype"),
    [
        ("/score", b"application/json"),
        ("/v1/models/m:predict", b"application/json"),
        ("/v1/models/m:explain", b"application/json"),
        ("/v2/models/m/infer", b""),
        ("/v2/models/m/versions/1/infer", b"application/octet-stream"),
    ],
)
def test_scoring_routes_count_against_the_inflight_limit(path: str, ctype: bytes) -> None:
    """Two requests in flight fill max_inflight=2; a third is shed with 429, then admitted again."""
    from service.middleware import RequestGuard

    release = asyncio.Event()
    entered: list[int] = []
    both_in = asyncio.Event()

    async def slow_app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        entered.append(1)
        if len(entered) == 2:
            both_in.set()
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = RequestGuard(slow_app, max_inflight=2)

    async def call() -> int:
        sent: list[Any] = []
        body = b"[]"
        headers = [(b"content-length", b"2")] + ([(b"content-type", ctype)] if ctype else [])
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers}

        async def receive() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await guard(scope, receive, send)
        return int(sent[0]["status"])

    async def scenario() -> list[int]:
        first = [asyncio.create_task(call()) for _ in range(2)]
        await asyncio.wait_for(both_in.wait(), 30)  # both requests hold their slots (a bound, not a wait)
        assert guard.inflight == 2
        shed = await call()
        release.set()
        return [*[await t for t in first], shed, await call()]

    assert asyncio.run(scenario()) == [200, 200, 429, 200]
    assert guard.inflight == 0


def test_bodies_are_parsed_once(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = json.loads

    def counting(raw: Any, *a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(raw, *a, **k)

    c = client("loan")
    name = c.get("/metadata").json()["model"]["name"]
    monkeypatch.setattr(json, "loads", counting)
    for path, body in (
        ("/score", json.dumps({k: {"0": v} for k, v in ROW.items()})),  # the columns orient
        (f"/v1/models/{name}:explain", json.dumps({"instances": [ROW]})),
        (f"/v2/models/{name}/infer", json.dumps(V2_INPUTS)),
    ):
        calls.clear()
        r = c.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 200 and len(calls) == 1, (path, r.text, len(calls))


def test_openapi_document_shows_the_protocol_bodies(client: Any) -> None:
    doc = client("loan").get("/docs.json").json()
    schemas = doc["components"]["schemas"]

    def body(path: str) -> dict[str, Any]:
        ref = doc["paths"][path]["post"]["requestBody"]["content"]["application/json"]["schema"]["$ref"]
        return dict(schemas[ref.rsplit("/", 1)[1]])

    assert "DataFrame.to_json()" in body("/score")["description"]
    assert set(body("/v1/models/{name}:explain")["properties"]) == {
        "instances",
        "inputs",
        "top_k",
        "error_estimate",
        "max_error",
    }
    infer = body("/v2/models/{name}/infer")
    assert (
        set(infer["properties"]) >= {"id", "parameters", "inputs", "outputs"}
        and infer["additionalProperties"] is False
    )
    assert "security" not in doc["paths"]["/v2/health/ready"]["get"]
    assert doc["paths"]["/v2/models/{name}/infer"]["post"]["security"] == [{"bearer": []}]
