"""The HTTP-backed ``ExplanationClient`` against the ``/explanations`` routes, served in-process by a
small Starlette app built from ``store.api``'s handlers (as the service will mount them), with a
bearer key and the error body every shapserve route answers with."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient
from store_support import explain_answer, iris

from scorers.errors import InputError, ShapserveError
from store import ExplanationClient, ExplanationNotFound, ExplanationTooLarge, api
from store.http_client import HttpExplanationClient

KEY = "s3cret"
MAX = 200_000


def make_app(store) -> Starlette:
    def answer(fn, *args) -> Response:
        try:
            return JSONResponse(fn(*args))
        except ShapserveError as exc:  # the service maps errors by their status, in one place
            body = {
                "error": str(exc),
                "kind": exc.kind,
                "row": getattr(exc, "row", None),
                "field": getattr(exc, "field", None),
            }
            return JSONResponse(body, status_code=exc.status)

    async def collection(request: Request) -> Response:
        if request.method == "POST":
            return answer(api.upload, store, await request.json(), MAX)
        q = request.query_params
        return answer(
            api.list_,
            store,
            q.get("comment"),
            q.get("kind"),
            q.get("raw"),
            q.get("engineered"),
            q.get("source"),
            q.get("limit"),
        )

    async def item(request: Request) -> Response:
        eid = request.path_params["id"]
        if request.method == "DELETE":
            return answer(api.delete, store, eid)
        return answer(api.get, store, eid, request.query_params.get("top_k"))

    class Bearer(BaseHTTPMiddleware):
        async def dispatch(self, request, call_next):
            if request.headers.get("authorization") != f"Bearer {KEY}":
                return JSONResponse(
                    {"error": "unauthorized", "kind": "unauthorized", "row": None, "field": None}, 401
                )
            return await call_next(request)

    return Starlette(
        routes=[
            Route("/explanations", collection, methods=["GET", "POST"]),
            Route("/explanations/{id}", item, methods=["GET", "DELETE"]),
        ],
        middleware=[Middleware(Bearer)],
    )


@pytest.fixture
def server(store):
    with TestClient(make_app(store), base_url="http://testserver") as http:
        yield http


@pytest.fixture
def client(server):
    return HttpExplanationClient("http://testserver", api_key=KEY, http=server)


def test_from_url_picks_the_http_client():
    c = ExplanationClient.from_url("http://127.0.0.1:3000", api_key="k")
    assert isinstance(c, HttpExplanationClient) and c.http.headers["authorization"] == "Bearer k"
    c.close()


def test_seed_calls_over_http(client):
    explainer, x = iris()
    glob = explainer.explain_global(x)
    gid = client.upload_model_explanation(glob, comment="global explanation: all features", model="iris:2")
    lid = client.upload_model_explanation(
        explainer.explain(x.iloc[:6]), comment="local", true_ys=np.array(["setosa"] * 6)
    )
    latest = client.download_model_explanation()
    assert latest.id == lid and latest.kind == "local" and latest.true_ys == ["setosa"] * 6
    np.testing.assert_array_equal(
        latest.values, explainer.explain(x.iloc[:6]).values
    )  # JSON floats round-trip exactly
    got = client.download_model_explanation(comment="global explanation: all features")
    assert got.id == gid and got.model_name == "iris" and got.model_version == "2"
    assert got.get_ranked_global_names() == glob.get_ranked_global_names()
    assert got.get_ranked_global_values() == glob.get_ranked_global_values()
    top = client.download_model_explanation(gid, top_k=2)
    assert top.get_ranked_global_names() == glob.get_ranked_global_names(2) and top.top_k == 2
    assert [m["id"] for m in client.list_model_explanations()] == [lid, gid]
    assert [m["id"] for m in client.list_model_explanations(comment="local")] == [lid]
    assert client.list_model_explanations(engineered=True) == []
    client.delete_model_explanation(lid)
    with pytest.raises(ExplanationNotFound) as info:
        client.download_model_explanation(lid)
    assert info.value.status == 404 and "no stored explanation has the id" in str(info.value)


def test_errors_come_back_typed_with_the_field(client, server):
    explainer, x = iris()
    bad = explain_answer(explainer, x.iloc[:3])
    bad["local_importance_values"][1][2][0] = math.inf
    # the client validates locally first, with the server's message...
    with pytest.raises(InputError, match=r"field 'explanation.local_importance_values\[1\]\[2\]\[0\]'"):
        client.upload_model_explanation(bad)
    # ...and the server refuses the same body on its own: 400 naming the field
    resp = server.post(
        "/explanations",
        json={
            "explanation": {
                **bad,
                "local_importance_values": [
                    bad["local_importance_values"][0],
                    [[0.0] * 4],
                    bad["local_importance_values"][2],
                ],
            }
        },
        headers={"Authorization": f"Bearer {KEY}"},
    )
    assert resp.status_code == 400
    assert resp.json() == {
        "error": "field 'explanation.local_importance_values[1]': expected 3 entries (one per class), got 1",
        "kind": "invalid_input",
        "row": None,
        "field": "explanation.local_importance_values[1]",
    }
    big = pd.concat([x] * 20)  # 3,000 rows x 3 classes x 4 features: 288,000 bytes of values
    with pytest.raises(ExplanationTooLarge, match="over the limit of 200000") as info:
        client.upload_model_explanation(explain_answer(explainer, big))
    assert info.value.status == 413
    with pytest.raises(InputError) as bad_top_k:
        client._call("GET", "/explanations", params={"limit": "none"})
    assert bad_top_k.value.field == "limit" and bad_top_k.value.status == 400


def test_api_key_required(server):
    anonymous = HttpExplanationClient("http://testserver", http=server)
    with pytest.raises(ShapserveError) as info:
        anonymous.list_model_explanations()
    assert info.value.status == 401
