"""Listing, latest-matching downloads, filters, delete, and the recorder's sampling and retention."""

from __future__ import annotations

import random

import pytest
from store_support import diabetes, explain_answer, iris

from scorers.errors import InputError
from store import DatabaseExplanationClient, ExplanationNotFound, Filters, api, recorder
from store.schemas import UploadBody


@pytest.fixture
def client(store):
    return DatabaseExplanationClient(store)


def test_latest_matching_by_default_and_filters(client):
    explainer, x = iris()
    glob = explainer.explain_global(x)
    a = client.upload_model_explanation(glob, comment="run 1")
    b = client.upload_model_explanation(explainer.explain(x.iloc[:3]), comment="run 2")
    c = client.upload_model_explanation(glob, comment="run 1", engineered=True)
    assert client.download_model_explanation().id == c
    assert client.download_model_explanation(comment="run 2").id == b
    assert client.download_model_explanation(comment="run 1", raw=True).id == a
    assert client.download_model_explanation(engineered=True).id == c
    assert client.download_model_explanation(engineered=False).id == b
    assert client.download_model_explanation(raw=False).id == c
    assert client.download_model_explanation(raw=True, engineered=True).id == c
    with pytest.raises(ExplanationNotFound, match="no stored explanation matches comment='run 3'") as info:
        client.download_model_explanation(comment="run 3")
    assert info.value.status == 404
    with pytest.raises(InputError, match="exclude every explanation"):
        client.download_model_explanation(raw=False, engineered=False)


def test_list_metadata_newest_first(client):
    explainer, x = iris()
    first = client.upload_model_explanation(explainer.explain_global(x), comment="g", model="iris-lr:1")
    second = client.upload_model_explanation(explainer.explain(x.iloc[:7]), comment="l")
    listed = client.list_model_explanations()
    assert [m["id"] for m in listed] == [second, first]
    local, glob = listed
    assert local["created"] >= glob["created"]
    assert (local["kind"], local["n_rows"], local["n_features"], local["classes"]) == (
        "local",
        7,
        4,
        ["setosa", "versicolor", "virginica"],
    )
    assert (glob["kind"], glob["n_rows"], glob["comment"], glob["model"]) == (
        "shap",
        150,
        "g",
        {"name": "iris-lr", "version": "1"},
    )
    assert local["raw"] is True and local["engineered"] is False
    assert local["features"] == list(x.columns) and local["output_space"] == "log_odds"
    assert local["size_bytes"] > 7 * 3 * 4 * 8 and local["scorer"] == "linear"
    assert [m["id"] for m in client.list_model_explanations(comment="g")] == [first]
    assert client.list_model_explanations(engineered=True) == []
    assert [m["id"] for m in client.list_model_explanations(kind="local")] == [second]


def test_delete(client, store):
    explainer, x = iris()
    eid = client.upload_model_explanation(explainer.explain(x.iloc[:2]))
    keep = client.upload_model_explanation(explainer.explain(x.iloc[:2]))
    assert api.delete(store, eid) == {"id": eid, "deleted": True}
    assert [m["id"] for m in client.list_model_explanations()] == [keep]
    with pytest.raises(ExplanationNotFound) as info:
        client.download_model_explanation(eid)
    assert info.value.status == 404 and info.value.field == "id"
    with pytest.raises(ExplanationNotFound):
        client.delete_model_explanation(eid)
    # no orphaned arrays: the whole explanation went in one transaction
    from sqlalchemy import func, select

    from store.models import ArrayRow

    with store.engine.connect() as conn:
        assert (
            conn.scalar(select(func.count()).select_from(ArrayRow).where(ArrayRow.explanation_id == eid)) == 0
        )
        assert conn.scalar(select(func.count()).select_from(ArrayRow)) > 0


def test_api_handlers_parse_query_strings(store):
    explainer, x = diabetes()
    eid = api.upload(store, {"explanation": explain_answer(explainer, x.iloc[:5]), "comment": "c"}, 10**6)[
        "id"
    ]
    assert [m["id"] for m in api.list_(store, comment="c", kind="local", raw="true", limit="1")] == [eid]
    parsed = UploadBody.model_validate(
        {"explanation": explain_answer(explainer, x.iloc[:1])}
    )  # a route table's
    assert api.upload(store, parsed, 10**6)["id"] != eid
    assert api.list_(store, engineered="1") == []
    got = api.get(store, eid, top_k="2")
    assert got["meta"]["id"] == eid and len(got["explanation"]["features"]) == 2
    for bad, field in (
        (lambda: api.get(store, eid, top_k="two"), "top_k"),
        (lambda: api.list_(store, raw="maybe"), "raw"),
    ):
        with pytest.raises(InputError) as info:
            bad()
        assert info.value.field == field
    with pytest.raises(InputError, match="unknown kind 'lime'"):
        api.list_(store, kind="lime")
    with pytest.raises(ExplanationNotFound):
        api.get(store, "0" * 32)


def test_recorder_samples_and_keeps_the_newest(store):
    explainer, x = iris()
    answer = explain_answer(explainer, x.iloc[:2])
    answer["ranked"] = [{"names": ["a"], "values": [1.0]}]  # what /explain adds with top_k: not stored
    assert recorder.record(answer, "req-0", 0.0, 5, store=store) is None  # off by default
    rng = random.Random(0)
    ids = [recorder.record(answer, f"req-{i}", 0.5, 3, store=store, rng=rng) for i in range(1, 13)]
    recorded = [i for i in ids if i is not None]
    assert 3 < len(recorded) < 12  # sampled
    kept = api.list_(store, source="recorded")
    assert [m["id"] for m in kept] == recorded[::-1][:3]  # retention: the newest 3
    assert all(m["source"] == "recorded" and m["request_id"].startswith("req-") for m in kept)
    assert api.list_(store) == []  # recorded answers stay out of the uploads' listing...
    with pytest.raises(ExplanationNotFound):
        DatabaseExplanationClient(store).download_model_explanation()  # ...and of latest-by-default
    assert store.count(Filters(source=None)) == 3


def test_recorder_never_raises(store, caplog):
    assert recorder.record({"not": "an answer"}, "req-x", 1.0, 10, store=store) is None
    assert "could not record the /explain answer of request req-x" in caplog.text
    assert store.count() == 0


def test_model_references():
    from types import SimpleNamespace

    bento_model = SimpleNamespace(tag=SimpleNamespace(name="shapserve-demo", version="abc123"))
    assert api.parse_model(bento_model) == ("shapserve-demo", "abc123")
    assert api.parse_model(SimpleNamespace(name="m", version=2)) == ("m", "2")
    assert api.parse_model("m") == ("m", None)
    assert api.parse_model("m:1:rc") == ("m", "1:rc")
    assert api.parse_model({"name": "m"}) == ("m", None)
