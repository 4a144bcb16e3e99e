"""The HTTP-backed ``ExplanationClient`` against the ``/explanations`` routes, served in-process by a
small Starlette app built from ``store.api``'s handlers (``store_app.py``, as the service will mount
them), with a bearer key and the error body every shapserve route answers with; and that app served as
a real process, killed in the middle of an upload."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from starlette.testclient import TestClient
from store_app import KEY, make_app
from store_support import explain_answer, iris

from scorers.errors import InputError, ShapserveError
from store import ExplanationClient, ExplanationNotFound, ExplanationTooLarge
from store.http_client import HttpExplanationClient


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


def test_server_killed_in_the_middle_of_an_upload_leaves_nothing(store_url):
    """A real server process (uvicorn) stops inside the upload transaction of a large explanation and
    is killed with SIGKILL: the client gets a typed error, the store holds nothing and takes writes."""
    import os
    import signal
    import threading

    from pg_server import settled, tagged
    from store_app import read_line, served
    from store_worker import synthetic

    from store import DatabaseExplanationClient, ExplanationStore, StoreUnavailable

    outcome: list[BaseException | str] = []
    url, name = tagged(store_url)
    with served(url, hang=True) as (server, base):
        client = HttpExplanationClient(base, api_key=KEY, timeout=120)

        def upload() -> None:
            try:
                outcome.append(client.upload_model_explanation(synthetic(5_000, 1)))  # ~9 MB of JSON
            except BaseException as exc:  # noqa: BLE001 - handed to the test thread
                outcome.append(exc)

        sender = threading.Thread(target=upload)
        sender.start()
        try:
            assert read_line(server) == "IN-TRANSACTION", outcome
        finally:
            os.kill(server.pid, signal.SIGKILL)
            server.wait(timeout=30)
        sender.join(timeout=60)
    assert server.returncode == -signal.SIGKILL
    settled(store_url, name)  # PostgreSQL has ended the killed server's session
    assert len(outcome) == 1 and isinstance(outcome[0], StoreUnavailable), outcome
    assert outcome[0].status == 503
    store = ExplanationStore(store_url)
    try:
        assert store.count() == 0
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM explanation_arrays").scalar() == 0
        eid = DatabaseExplanationClient(store).upload_model_explanation(synthetic(10, 2))
        assert [m.id for m in store.list()] == [eid]
    finally:
        store.close()
