"""In-process HTTP tests through the service's ASGI app: status AND message for every case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from svc_helpers import LOAN_ROW, additivity_error

from service.json_codec import dumps


def _err(resp: Any, status: int, *needles: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert isinstance(body, dict) and isinstance(body.get("error"), str), body
    for needle in needles:
        assert needle in body["error"], (needle, body["error"])
    return body


def test_explain_mixed_types_is_additive_and_complete(client_for: Any) -> None:
    c = client_for("loan")
    assert c.get("/readyz").status_code == 200
    rows = [LOAN_ROW, {**LOAN_ROW, "housing": None, "income": 52000.0, "purpose": "business"}]
    r = c.post("/explain", json={"instances": rows, "top_k": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["features"] == [
        "age",
        "income",
        "debt_ratio",
        "years_employed",
        "housing",
        "purpose",
        "region",
    ]
    assert body["output_space"] == "log_odds"
    assert body["classes"] == ["approved", "denied"]
    assert np.asarray(body["local_importance_values"]).shape == (2, 2, 7)
    assert additivity_error(body) < 1e-6
    # the explained output is the log-odds of the returned probabilities
    p = np.asarray(body["probabilities"])
    np.testing.assert_allclose(
        np.asarray(body["explained_outputs"])[:, 1], np.log(p[:, 1] / p[:, 0]), atol=1e-9
    )
    # ranked: top-3 by |value| for the predicted class
    for i, ranked in enumerate(body["ranked"]):
        k = body["classes"].index(body["predictions"][i])
        values = np.asarray(body["local_importance_values"][i][k])
        order = np.argsort(-np.abs(values), kind="stable")[:3]
        assert ranked["names"] == [body["features"][j] for j in order]
        np.testing.assert_allclose(ranked["values"], values[order])


def test_predict_matches_explain_and_accepts_arrays(client_for: Any) -> None:
    c = client_for("loan")
    as_array = [
        LOAN_ROW[k] for k in ["age", "income", "debt_ratio", "years_employed", "housing", "purpose", "region"]
    ]
    a = c.post("/predict", json={"instances": [LOAN_ROW]}).json()
    b = c.post("/predict", json={"instances": [as_array]}).json()
    e = c.post("/explain", json={"instances": [LOAN_ROW]}).json()
    assert a == b
    assert set(a) == {"predictions", "probabilities", "classes"}
    assert a["predictions"] == e["predictions"] and a["probabilities"] == e["probabilities"]
    assert "ranked" not in e


def test_regressor_shapes(client_for: Any) -> None:
    c = client_for("reg")
    meta = c.get("/metadata").json()
    names = [f["name"] for f in meta["features"]]
    row = {n: 0.01 * i for i, n in enumerate(names)}
    body = c.post("/explain", json={"instances": [row, row], "top_k": 2}).json()
    assert body["output_space"] == "raw"
    assert isinstance(body["expected_values"], float)
    assert np.asarray(body["local_importance_values"]).shape == (2, len(names))
    assert np.asarray(body["explained_outputs"]).shape == (2,)
    assert "probabilities" not in body and "classes" not in body
    assert additivity_error(body) < 1e-6
    np.testing.assert_allclose(body["explained_outputs"], body["predictions"], rtol=1e-12)
    assert meta["scorer"]["kind"] == "tree"


@pytest.mark.parametrize(
    ("payload", "status", "needles", "field"),
    [
        (
            {"instances": [{**LOAN_ROW, "colour": "red"}]},
            400,
            ["row 0", "unknown feature 'colour'"],
            "colour",
        ),
        (
            {"instances": [{k: v for k, v in LOAN_ROW.items() if k != "age"}]},
            400,
            ["row 0", "missing feature 'age'"],
            "age",
        ),
        ({"instances": [{**LOAN_ROW, "age": "forty"}]}, 400, ["field 'age'", "expected a number"], "age"),
        ({"instances": [{**LOAN_ROW, "age": True}]}, 400, ["field 'age'", "expected a number"], "age"),
        (
            {"instances": [{**LOAN_ROW, "housing": 3}]},
            400,
            ["field 'housing'", "expected a string"],
            "housing",
        ),
        ({"instances": [[1, 2, 3]]}, 400, ["row 0", "expected 7 values"], None),
        ({"instances": [LOAN_ROW, "row"]}, 400, ["row 1", "expected an object"], None),
        ({"instances": []}, 400, ["at least one row"], "instances"),
        ({"instances": {"age": 1}}, 400, ["expected a list of rows"], "instances"),
        ({"top_k": 3}, 400, ["instances", "missing"], "instances"),
        ({"instances": [LOAN_ROW], "top_k": 0}, 400, ["top_k", "between 1 and 7"], "top_k"),
        ({"instances": [LOAN_ROW], "top_k": "3"}, 400, ["top_k", "between 1 and 7"], "top_k"),
        ({"instances": [LOAN_ROW], "topk": 3}, 400, ["unknown key 'topk'"], "topk"),
    ],
)
def test_bad_requests_name_the_problem(
    client_for: Any, payload: Any, status: int, needles: list[str], field: str | None
) -> None:
    c = client_for("loan")
    body = _err(c.post("/explain", json=payload), status, *needles)
    assert body["field"] == field
    assert "Traceback" not in body["error"] and "/work" not in body["error"]
    # the server keeps serving
    assert c.post("/explain", json={"instances": [LOAN_ROW]}).status_code == 200


def test_raw_body_errors(client_for: Any) -> None:
    c = client_for("loan")
    _err(
        c.post("/explain", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "not valid JSON",
    )
    _err(
        c.post("/explain", content=b"", headers={"content-type": "application/json"}),
        400,
        "empty request body",
    )
    _err(
        c.post("/predict", content=b"[1, 2]", headers={"content-type": "application/json"}),
        400,
        "JSON object",
    )
    _err(
        c.post("/explain", content=b"[" * 50_000, headers={"content-type": "application/json"}),
        400,
        "nested too deeply",
    )
    _err(
        c.post("/explain", content=b'{"instances": []}', headers={"content-type": "text/csv"}),
        415,
        "application/json",
    )
    big = b'{"instances": [' + b"1," * 3_000_000 + b"1]}"
    _err(
        c.post("/explain", content=big, headers={"content-type": "application/json"}),
        413,
        "exceeds the limit",
    )
    _err(
        c.post(
            "/explain", content=b'{"instances": [{"age": NaN}]}', headers={"content-type": "application/json"}
        ),
        400,
    )


def test_the_guards_refusals_are_compact_json_as_every_answer(client_for: Any) -> None:
    """docs/api.md: every JSON answer is compact (the one encoder, service/json_codec.py); the request
    guard's refusals (415, 401; 413, 429 and 503 take the same path) were written with spaces."""
    unsupported = client_for("loan").post("/explain", content=b"{}", headers={"content-type": "text/csv"})
    unauthorized = client_for("loan", SHAPSERVE_API_KEY="s3cret-key").get("/metadata")
    for r, status in ((unsupported, 415), (unauthorized, 401)):
        _err(r, status)
        assert r.content == dumps(r.json())
        assert r.headers["content-length"] == str(len(r.content))


def test_non_finite_and_null_rules(client_for: Any) -> None:
    c = client_for("svc")
    meta = c.get("/metadata").json()
    names = [f["name"] for f in meta["features"]]
    assert not any(f["nullable"] for f in meta["features"])  # the bare SVC cannot impute
    row = [10.0] * len(names)
    assert c.post("/explain", json={"instances": [row]}).status_code == 200
    _err(
        c.post("/explain", json={"instances": [[None] + row[1:]]}),
        400,
        f"field '{names[0]}'",
        "cannot impute",
    )
    for token in (b"1e400", b"NaN", b"Infinity", b"-Infinity"):
        raw = b'{"instances": [[' + token + b"," + b",".join(b"10.0" for _ in row[1:]) + b"]]}"
        body = _err(
            c.post("/explain", content=raw, headers={"content-type": "application/json"}),
            400,
            "finite number",
        )
        assert body["field"] == names[0]


def test_unseen_category_follows_the_encoder(client_for: Any) -> None:
    c = client_for("loan")
    feats = {f["name"]: f for f in c.get("/metadata").json()["features"]}
    assert feats["housing"]["unseen"] == "accepted"  # OneHotEncoder(handle_unknown="ignore")
    body = c.post("/explain", json={"instances": [{**LOAN_ROW, "housing": "boat"}]}).json()
    assert additivity_error(body) < 1e-6


def test_row_limit_is_enforced(client_for: Any) -> None:
    c = client_for("loan", SHAPSERVE_MAX_ROWS="3")
    _err(c.post("/explain", json={"instances": [LOAN_ROW] * 4}), 400, "4 rows exceed the limit of 3")
    assert c.post("/explain", json={"instances": [LOAN_ROW] * 3}).status_code == 200


def test_metadata_and_global_explanation(client_for: Any, packaged: dict[str, str]) -> None:
    c = client_for("svc")
    meta = c.get("/metadata").json()
    name, version = packaged["svc"].split(":")
    assert meta["model"]["name"] == name and meta["model"]["version"] == version
    assert meta["scorer"]["kind"] == "kernel_machine" and meta["scorer"]["exact"] is True
    assert meta["output_space"] == "raw"
    assert meta["background"]["size"] == 10
    assert meta["checks"]["additivity_max_abs_error"] < 1e-9
    assert {"numpy", "scikit-learn", "shap", "onnxruntime"} <= set(meta["versions"])
    g = c.get("/explain_global", params={"top_k": 5}).json()
    assert len(g["ranked_names"]) == 5 and g["ranked_values"] == sorted(g["ranked_values"], reverse=True)
    per = g["per_class"][str(meta["classes"][1])]
    assert [per[n] for n in g["ranked_names"]] == pytest.approx(g["ranked_values"])
    _err(c.get("/explain_global", params={"top_k": "lots"}), 400, "top_k")
    _err(c.get("/explain_global", params={"top_k": 99}), 400, "between 1 and 30")


def test_probability_space_kernel_is_anchored_and_additive(client_for: Any) -> None:
    """The seed's SVC packaged for the probability space: an anchored kernel scorer, end to end."""
    import json
    from pathlib import Path

    c = client_for("svc-proba")
    meta = c.get("/metadata").json()
    assert meta["scorer"]["kind"] == "kernel" and meta["scorer"]["exact"] is False
    assert meta["scorer"]["params"]["anchor"] == "kernel_machine:raw"
    assert meta["output_space"] == "probability"
    sample = json.loads(
        (Path(__file__).resolve().parents[2] / "examples" / "breast_cancer_request.json").read_text()
    )
    body = c.post("/explain", json=sample).json()
    assert body["output_space"] == "probability"
    assert additivity_error(body) < 1e-6
    # in the probability space the explained outputs are the returned probabilities
    np.testing.assert_allclose(body["explained_outputs"], body["probabilities"], atol=1e-9)
    phi = np.asarray(body["local_importance_values"])
    np.testing.assert_allclose(phi[:, 0, :], -phi[:, 1, :], atol=1e-9)  # two classes: p0 = 1 - p1


def test_api_key_protects_scoring_but_not_health(client_for: Any) -> None:
    c = client_for("loan", SHAPSERVE_API_KEY="s3cret-key")
    body = _err(c.post("/explain", json={"instances": [LOAN_ROW]}), 401, "API key")
    assert body["kind"] == "unauthorized"
    _err(c.post("/explain", json={"instances": [LOAN_ROW]}, headers={"Authorization": "Bearer wrong"}), 401)
    _err(c.get("/metadata"), 401)
    ok = c.post("/explain", json={"instances": [LOAN_ROW]}, headers={"Authorization": "Bearer s3cret-key"})
    assert ok.status_code == 200 and additivity_error(ok.json()) < 1e-6
    assert c.get("/readyz").status_code == 200 and c.get("/livez").status_code == 200


def test_overload_is_shed_with_429_and_retry_after() -> None:
    """The guard admits max_inflight scoring requests at once; one more is shed, then admitted again."""
    import asyncio

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

    async def call() -> tuple[int, dict[bytes, bytes]]:
        sent: list[Any] = []
        body = b'{"instances": [[1]]}'
        scope = {
            "type": "http",
            "method": "POST",
            "path": "/explain",
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }

        async def receive() -> Any:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Any) -> None:
            sent.append(message)

        await guard(scope, receive, send)
        return sent[0]["status"], dict(sent[0]["headers"])

    async def scenario() -> list[tuple[int, dict[bytes, bytes]]]:
        first = [asyncio.create_task(call()) for _ in range(2)]
        await asyncio.wait_for(both_in.wait(), 30)  # both requests hold their slots (a bound, not a wait)
        assert guard.inflight == 2
        shed = await call()  # both slots busy
        release.set()
        done = [await t for t in first]
        after = await call()  # capacity is back
        return [*done, shed, after]

    a, b, shed, after = asyncio.run(scenario())
    assert (a[0], b[0], after[0]) == (200, 200, 200)
    assert shed[0] == 429 and shed[1][b"retry-after"] == b"1"
    assert guard.inflight == 0


def test_model_error_is_a_500_with_request_id_and_no_internals(tmp_path: Any, caplog: Any) -> None:
    """A model that raises on one request: 500, a request id, no traceback/path; the server keeps serving."""
    import logging

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer
    from svc_helpers import explode_on_sentinel, make_client

    from cli.bento import package

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    y = (x[:, 0] + x[:, 1] > 0).astype(int)
    pipe = make_pipeline(FunctionTransformer(explode_on_sentinel), LogisticRegression()).fit(x, y)
    import pandas as pd

    tag = package(
        pipe,
        pd.DataFrame(x, columns=["a", "b", "c"]),
        name="test-explode",
        progress=lambda _m: None,
        eval_size=20,
    )["model_tag"]
    c = make_client(tag)
    c.__enter__()
    assert c.post("/explain", json={"instances": [[0.1, 0.2, 0.3]]}).status_code == 200
    with caplog.at_level(logging.ERROR, logger="shapserve"):
        r = c.post("/explain", json={"instances": [[-999.0, 0.2, 0.3]]})
    assert r.status_code == 500
    body = r.json()
    assert body["kind"] == "internal" and "request id" in body["error"]
    request_id = r.headers["x-request-id"]
    assert request_id in body["error"]
    assert "secret" not in r.text and "/opt" not in r.text and "Traceback" not in r.text
    assert any(request_id in rec.getMessage() for rec in caplog.records)
    assert c.post("/explain", json={"instances": [[0.1, 0.2, 0.3]]}).status_code == 200
    c.__exit__(None, None, None)
