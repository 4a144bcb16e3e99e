"""The explanation store on the served model: /explanations routes with the seed's client over HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from svc_helpers import LOAN_ROW, additivity_error, eventually


@pytest.fixture(scope="module")
def store_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{Path(tmp_path_factory.mktemp('store')) / 'explanations.db'}"


def test_upload_list_download_delete_over_http(client_for: Any, store_url: str) -> None:
    c = client_for("loan", SHAPSERVE_STORE_URL=store_url)
    answer = c.post("/explain", json={"instances": [LOAN_ROW, {**LOAN_ROW, "housing": "rent"}]}).json()
    r = c.post("/explanations", json={"explanation": answer, "comment": "two loans"})
    assert r.status_code == 200, r.text
    local_id = r.json()["id"]
    glob = c.get("/explain_global").json()
    gid = c.post("/explanations", json={"explanation": glob, "comment": "global", "top_k": 3}).json()["id"]

    listed = c.get("/explanations", params={"comment": "two loans"}).json()
    assert [m["id"] for m in listed] == [local_id]
    assert listed[0]["n_rows"] == 2 and listed[0]["features"] == answer["features"]

    back = c.get(f"/explanations/{local_id}").json()["explanation"]
    np.testing.assert_array_equal(back["local_importance_values"], answer["local_importance_values"])
    assert back["output_space"] == answer["output_space"] and additivity_error(back) < 1e-12

    top = c.get(f"/explanations/{gid}").json()["explanation"]
    assert top["ranked_names"] == glob["ranked_names"][:3]

    assert c.delete(f"/explanations/{local_id}").json() == {"id": local_id, "deleted": True}
    gone = c.get(f"/explanations/{local_id}")
    assert gone.status_code == 404 and gone.json()["kind"] == "explanation_not_found"


def test_bad_uploads_name_the_field(client_for: Any, store_url: str) -> None:
    c = client_for("loan", SHAPSERVE_STORE_URL=store_url)
    r = c.post("/explanations", json={"explanation": {"features": ["a"]}, "commnt": "x"})
    assert r.status_code == 400 and r.json()["field"] == "commnt"
    answer = c.post("/explain", json={"instances": [LOAN_ROW]}).json()
    answer["local_importance_values"][0][0][0] = "x"
    r = c.post("/explanations", json={"explanation": answer})
    assert r.status_code == 400 and "local_importance_values" in r.json()["error"]
    r = c.get("/explanations", params={"limit": "zero"})
    assert r.status_code == 400 and r.json()["field"] == "limit"


def test_routes_need_the_key(client_for: Any, store_url: str) -> None:
    c = client_for("loan", SHAPSERVE_STORE_URL=store_url, SHAPSERVE_API_KEY="k")
    assert c.get("/explanations").status_code == 401
    assert c.get("/explanations", headers={"Authorization": "Bearer k"}).status_code == 200


def test_seed_client_over_http(client_for: Any, store_url: str) -> None:
    """The seed's remote-run calls, through ExplanationClient on the served model's URL."""
    from store.http_client import HttpExplanationClient

    c = client_for("loan", SHAPSERVE_STORE_URL=store_url)
    client = HttpExplanationClient("http://testserver", http=c)
    glob = c.get("/explain_global").json()
    client.upload_model_explanation(glob, comment="global explanation: all features")
    explanation = client.download_model_explanation()
    assert explanation.get_ranked_global_names() == glob["ranked_names"]
    np.testing.assert_allclose(explanation.get_ranked_global_values(), glob["ranked_values"])
    top4 = client.download_model_explanation(top_k=4)
    assert top4.get_ranked_global_names() == glob["ranked_names"][:4]


def test_recording_a_sample_of_explain_answers(client_for: Any, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'recorded.db'}"
    c = client_for("loan", SHAPSERVE_STORE_URL=url, SHAPSERVE_STORE_RECORD_SAMPLE_RATE="1.0")
    for _ in range(3):
        assert c.post("/explain", json={"instances": [LOAN_ROW]}).status_code == 200
    recorded = eventually(  # written in the background (store/record_writer.py)
        lambda: (r := c.get("/explanations", params={"source": "recorded"}).json()) and len(r) == 3 and r
    )
    assert len(recorded) == 3 and all(m["request_id"] for m in recorded)
    assert c.get("/explanations").json() == []  # recordings stay out of the default listing
