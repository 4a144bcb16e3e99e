"""The route table: the guard protects every route of it unless marked open, the OpenAPI document
describes each with its real request shape, and a route added to the table needs no other edit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from svc_helpers import LOAN_ROW, additivity_error

from service.routes import ROUTES
from service.routing import Call, RouteSpec


def _concrete(path: str) -> str:
    return (
        path.replace("{name}", "test-loan")
        .replace("{id}", "0")
        .replace("{endpoint}", "1")
        .replace("{deployed_model}", "2")
    )


def test_every_route_but_the_open_ones_needs_the_key(client_for: Any) -> None:
    c = client_for("loan", SHAPSERVE_API_KEY="route-key")
    for spec in ROUTES:
        r = c.request(spec.method, _concrete(spec.path), json={} if spec.body else None)
        if spec.open:
            assert r.status_code != 401, spec.name
        else:
            assert r.status_code == 401, (spec.name, r.status_code)
            assert r.json()["kind"] == "unauthorized"
            assert r.headers["www-authenticate"] == "Bearer"


def test_a_route_added_to_the_table_is_protected_without_other_edits() -> None:
    from service.middleware import RequestGuard

    extra = RouteSpec("/brand-new", "GET", lambda call: {"ok": True}, "a new route")

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    guard = RequestGuard(app, routes=(*ROUTES, extra), api_key="k")

    async def status(path: str, auth: str | None) -> int:
        sent: list[Any] = []
        headers = [(b"authorization", auth.encode())] if auth else []
        scope = {"type": "http", "method": "GET", "path": path, "headers": headers}

        async def receive() -> Any:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await guard(scope, receive, send)
        return int(sent[0]["status"])

    assert asyncio.run(status("/brand-new", None)) == 401
    assert asyncio.run(status("/brand-new", "Bearer k")) == 200
    assert asyncio.run(status("/livez", None)) == 200  # BentoML's own probe stays open


def test_openapi_document_shows_the_real_shapes(client_for: Any) -> None:
    c = client_for("loan")
    doc = c.get("/docs.json").json()
    assert doc["openapi"].startswith("3.1")
    for spec in ROUTES:
        assert spec.method.lower() in doc["paths"][spec.path], spec.name
    body = doc["paths"]["/explain"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    schema = doc["components"]["schemas"][body["$ref"].rsplit("/", 1)[1]]
    assert set(schema["properties"]) == {"instances", "top_k", "error_estimate", "max_error"}
    assert schema["additionalProperties"] is False
    rows = schema["properties"]["instances"]["anyOf"][0]
    assert rows["type"] == "array" and {v["type"] for v in rows["items"]["anyOf"]} == {"object", "array"}
    ok = doc["paths"]["/explain"]["post"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/ExplainResponse")


def test_json_is_parsed_once_into_the_route_model(client_for: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    calls: list[int] = []
    real = json.loads

    def counting(raw: Any, *a: Any, **k: Any) -> Any:
        calls.append(1)
        return real(raw, *a, **k)

    monkeypatch.setattr(json, "loads", counting)
    c = client_for("loan")
    r = c.post("/explain", json={"instances": [LOAN_ROW]})
    parsed = len(calls)
    assert r.status_code == 200 and additivity_error(r.json()) < 1e-6
    assert parsed == 1


def test_a_handler_sees_only_what_the_table_says() -> None:
    spec = next(s for s in ROUTES if s.name == "POST /explain")
    assert spec.scoring and spec.body is not None and not spec.open
    seen: dict[str, Any] = {}

    class Core:
        def explain(
            self, instances: Any, top_k: Any, cancel: Any, error_estimate: Any, max_error: Any
        ) -> dict[str, Any]:
            seen.update(
                instances=instances,
                top_k=top_k,
                cancel=cancel,
                error_estimate=error_estimate,
                max_error=max_error,
            )
            return {}

    body = spec.body.model_validate({"instances": [[1.0]], "top_k": 2, "max_error": 0.5})
    call = Call(Core(), body)  # type: ignore[arg-type]
    spec.handler(call)
    assert seen == {
        "instances": [[1.0]],
        "top_k": 2,
        "cancel": call.cancel.is_set,
        "error_estimate": None,
        "max_error": 0.5,
    }


def test_a_route_has_the_time_budget_its_table_entry_names() -> None:
    """``RouteSpec.timeout`` names the settings field of the route's budget: POST /explain_jobs reads and
    validates up to 100,000 rows and may start the worker's job process, so it has its own.

    Both handlers wait for the test: ``/own`` is entered first, ``/plain`` answers 504 once the request
    budget has passed, and only then are both released, so ``/own`` has outlived the request budget on any
    machine and answers within its own."""
    import threading

    from starlette.testclient import TestClient

    from service.app import attach, build_app
    from service.model_metrics import ModelMetrics
    from service.settings import Settings

    class Core:
        labels = {"model": "m", "version": "v"}
        metrics = ModelMetrics(labels)

        def count_error(self, kind: str) -> None:
            pass

    release = threading.Event()
    entered = threading.Event()

    def held(call: Call) -> dict[str, bool]:
        entered.set()
        assert release.wait(60)
        return {"ok": True}

    routes = (
        RouteSpec("/plain", "GET", held, "the request budget"),
        RouteSpec("/own", "GET", held, "its own budget", timeout="job_submit_timeout"),
    )
    app = build_app(routes, Settings(request_timeout=0.2, job_submit_timeout=60))
    attach(app, Core())  # type: ignore[arg-type]
    own: dict[str, Any] = {}
    with TestClient(app) as client:
        waiter = threading.Thread(target=lambda: own.update(r=client.get("/own")))
        waiter.start()
        try:
            assert entered.wait(60)
            r = client.get("/plain")
            assert r.status_code == 504 and r.json()["kind"] == "timeout"
            assert r.json()["error"] == "the request took longer than its time budget of 0.2 s"
        finally:
            release.set()
            waiter.join(60)
        assert own["r"].status_code == 200 and own["r"].json() == {"ok": True}
    submit = next(spec for spec in ROUTES if spec.name == "POST /explain_jobs")
    assert submit.timeout == "job_submit_timeout"
    assert all(isinstance(getattr(Settings(), spec.timeout), float) for spec in ROUTES)
