"""``POST /explain_interactions`` over HTTP (the in-process client), values against the brute-force
interaction oracle on the packaged background."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scorers"))
from interaction_oracle import interaction_oracle  # noqa: E402
from scorer_support import frame_model  # noqa: E402
from truth_oracle import packaged_background  # noqa: E402


def _artifact(tag: str) -> Path:
    import bentoml

    return Path(bentoml.models.get(tag).path_of("artifact"))


@pytest.fixture(scope="module")
def diabetes() -> Any:
    from sklearn.datasets import load_diabetes

    return load_diabetes(as_frame=True).data


def test_tree_regressor_equals_the_oracle(client_for: Any, packaged: dict[str, str], diabetes: Any) -> None:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    data = load_diabetes(as_frame=True)  # the model the session fixture packaged, fitted again
    model = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(
        data.data, data.target
    )
    rows = diabetes.iloc[-2:].reset_index(drop=True)
    body = client_for("reg").post("/explain_interactions", json={"instances": rows.to_dict("records")})
    assert body.status_code == 200, body.text
    got = body.json()
    assert (got["interaction_method"], got["interaction_exact"], got["interaction_errors"]) == (
        "tree",
        True,
        None,
    )
    background, weights = packaged_background(_artifact(packaged["reg"]))
    matrix, _, base = interaction_oracle(frame_model(model, "raw", as_array=False), background, weights, rows)
    values = np.asarray(got["interaction_values"])  # [row][feature][feature] for a regressor
    assert got["features"] == list(background.columns)
    np.testing.assert_allclose(values, matrix[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_allclose(values.sum(axis=2), got["local_importance_values"], rtol=0, atol=1e-9)
    total = values.sum(axis=(1, 2)) + got["expected_values"]
    np.testing.assert_allclose(total, got["explained_outputs"], rtol=0, atol=1e-6)
    np.testing.assert_allclose(got["expected_values"], base[0], rtol=0, atol=1e-9)


def test_pairs_and_top_k_select_from_the_matrix(client_for: Any, diabetes: Any) -> None:
    rows = diabetes.iloc[:3].to_dict("records")
    got = (
        client_for("reg")
        .post(
            "/explain_interactions",
            json={"instances": rows, "pairs": [["bmi", "s5"], ["age", "sex"]], "top_k": 3},
        )
        .json()
    )
    names = got["features"]
    values = np.asarray(got["interaction_values"])
    i, j = names.index("bmi"), names.index("s5")
    np.testing.assert_array_equal(np.asarray(got["pair_values"])[:, 0], values[:, i, j])
    for r, ranked in enumerate(got["ranked_pairs"]):
        assert len(ranked["pairs"]) == 3
        off = np.abs(values[r][np.triu_indices(len(names), k=1)])
        assert np.abs(ranked["values"][0]) == off.max()
        a, b = ranked["pairs"][0]
        assert values[r, names.index(a), names.index(b)] == ranked["values"][0]


def test_a_classifier_answers_per_class_and_the_linear_model_says_no_interactions(client_for: Any) -> None:
    from scorers.examples import loan_pipeline

    _, x, _ = loan_pipeline()
    rows = x.iloc[:2].astype(object).where(x.iloc[:2].notna(), None).to_dict("records")
    got = client_for("loan").post("/explain_interactions", json={"instances": rows}).json()
    values = np.asarray(got["interaction_values"])  # [row][class][feature][feature]
    m = len(got["features"])
    assert values.shape == (2, len(got["classes"]), m, m)
    assert got["interaction_method"] == "linear" and "no interactions" in got["interaction_note"]
    assert not values[..., ~np.eye(m, dtype=bool)].any()
    np.testing.assert_allclose(values.sum(axis=3), got["local_importance_values"], rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("extra", "field", "needle"),
    [
        ({"pairs": [["bmi", "nope"]]}, "pairs", "unknown feature 'nope'"),
        ({"pairs": [["bmi", "bmi"]]}, "pairs", "two different features"),
        ({"pairs": "bmi"}, "pairs", "expected a non-empty list"),
        ({"top_k": 0}, "top_k", "between 1 and 45"),
        ({"top_k": 46}, "top_k", "between 1 and 45"),
        ({"top_k": True}, "top_k", "between 1 and 45"),
        ({"pair": []}, "pair", "unknown key"),
    ],
)
def test_bad_input_names_the_field(
    client_for: Any, diabetes: Any, extra: dict[str, Any], field: str, needle: str
) -> None:
    r = client_for("reg").post(
        "/explain_interactions", json={"instances": diabetes.iloc[:1].to_dict("records"), **extra}
    )
    assert r.status_code == 400, r.text
    assert r.json()["field"] == field and needle in r.json()["error"], r.json()


def test_behind_the_api_key_and_in_the_api_document(client_for: Any, diabetes: Any) -> None:
    c = client_for("reg", SHAPSERVE_API_KEY="inter-key")
    body = {"instances": diabetes.iloc[:1].to_dict("records")}
    assert c.post("/explain_interactions", json=body).status_code == 401
    ok = c.post("/explain_interactions", json=body, headers={"Authorization": "Bearer inter-key"})
    assert ok.status_code == 200
    doc = c.get("/docs.json").json()
    post = doc["paths"]["/explain_interactions"]["post"]
    assert "pairs" in str(post) or "InteractionsRequest" in str(post)
    assert "interaction_values" in str(doc["components"])
