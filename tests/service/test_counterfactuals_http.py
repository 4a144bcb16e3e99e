"""POST /counterfactuals in process: every counterfactual's prediction checked against /predict and the
model, its SHAP values against /explain of the same row, constraints and plausibility, and 4xx naming
the field."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from svc_helpers import LOAN_ROW

from scorers.examples import breast_cancer_svc, loan_data


def _err(resp: Any, status: int, field: str, needle: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["field"] == field, body
    assert needle in body["error"], body


def _check_served(c: Any, body: dict[str, Any], rows: list[dict[str, Any]], target: Any) -> list[Any]:
    """Every counterfactual reaches the target by /predict, its values equal /explain's, and its changes
    are exactly where it differs from its row; returns them all."""
    cfs = [cf for row in body["rows"] for cf in row["counterfactuals"]]
    assert cfs
    instances = [cf["instance"] for cf in cfs]
    pred = c.post("/predict", json={"instances": instances}).json()["predictions"]
    exp = c.post("/explain", json={"instances": instances}).json()
    for i, cf in enumerate(cfs):
        if isinstance(target, list):
            assert target[0] <= pred[i] <= target[1]
        else:
            assert pred[i] == target
        assert cf["prediction"] == pred[i]
        np.testing.assert_allclose(
            cf["local_importance_values"], exp["local_importance_values"][i], atol=1e-9
        )
        np.testing.assert_allclose(cf["explained_output"], exp["explained_outputs"][i], atol=1e-9)
    for row, original in zip(body["rows"], rows, strict=True):
        for cf in row["counterfactuals"]:
            differs = {k for k, v in cf["instance"].items() if v != original[k]}
            assert differs == set(cf["changes"]) and differs
            for k, ch in cf["changes"].items():
                assert ch == {"from": original[k], "to": cf["instance"][k]}
    return cfs


def test_svc_counterfactuals_reach_the_other_class_within_training_ranges(client_for: Any) -> None:
    _, x_train, x_test, *_ = breast_cancer_svc()
    c = client_for("svc")
    rows = x_test.iloc[:3].to_dict("records")
    preds = c.post("/predict", json={"instances": rows}).json()["predictions"]
    classes = sorted(set(preds) | {"benign", "malignant"})
    target = next(k for k in classes if k != preds[0])
    r = c.post("/counterfactuals", json={"instances": rows, "target": target, "count": 2})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["target"] == target and body["count"] == 2
    for p, row in zip(preds, body["rows"], strict=True):
        if p == target:
            assert row["found"] == 0 and "already" in row["reason"]
        else:
            assert 1 <= row["found"] == len(row["counterfactuals"]) <= 2
    cfs = _check_served(c, body, rows, target)
    lo, hi = x_train.min(), x_train.max()
    for cf in cfs:
        for k, ch in cf["changes"].items():
            assert lo[k] <= ch["to"] <= hi[k], (k, ch)


def test_loan_constraints_are_respected(client_for: Any) -> None:
    x, _ = loan_data()
    c = client_for("loan")
    rows = [LOAN_ROW, {**LOAN_ROW, "debt_ratio": 0.9, "income": 21000.0}]
    preds = c.post("/predict", json={"instances": rows}).json()["predictions"]
    target = "approved" if preds[1] == "denied" else "denied"
    constraints = {
        "fixed": ["age", "region"],
        "ranges": {"income": [20000, 90000]},
        "categories": {"purpose": ["car", "home"]},
    }
    r = c.post(
        "/counterfactuals", json={"instances": rows, "target": target, "count": 3, "constraints": constraints}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["rows"][1]["found"] >= 1
    cfs = _check_served(c, body, rows, target)
    for cf in cfs:
        assert "age" not in cf["changes"] and "region" not in cf["changes"]
        if "income" in cf["changes"]:
            assert 20000 <= cf["changes"]["income"]["to"] <= 90000
        if "purpose" in cf["changes"]:
            assert cf["changes"]["purpose"]["to"] in ("car", "home")
        if "debt_ratio" in cf["changes"]:
            assert x["debt_ratio"].min() <= cf["changes"]["debt_ratio"]["to"] <= x["debt_ratio"].max()
        if "housing" in cf["changes"]:
            assert cf["changes"]["housing"]["to"] in ("rent", "own", "mortgage")


def test_a_row_that_cannot_move_says_so_in_a_200(client_for: Any) -> None:
    c = client_for("loan")
    pred = c.post("/predict", json={"instances": [LOAN_ROW]}).json()["predictions"][0]
    target = "approved" if pred == "denied" else "denied"
    r = c.post(
        "/counterfactuals",
        json={"instances": [LOAN_ROW], "target": target, "constraints": {"fixed": list(LOAN_ROW)}},
    )
    assert r.status_code == 200, r.text
    row = r.json()["rows"][0]
    assert row["found"] == 0 and row["counterfactuals"] == [] and "constraints" in row["reason"]


def test_regressor_reaches_the_range(client_for: Any) -> None:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True).data
    c = client_for("reg")
    rows = data.iloc[:2].to_dict("records")
    preds = c.post("/predict", json={"instances": rows}).json()["predictions"]
    target = [max(preds) + 20.0, max(preds) + 60.0]
    r = c.post("/counterfactuals", json={"instances": rows, "target": target, "count": 2})
    assert r.status_code == 200, r.text
    _check_served(c, r.json(), rows, target)


def test_an_open_ended_range_is_echoed_with_null(client_for: Any) -> None:
    """``null`` is an open end of a regressor's target: it reached the answer as an infinity, which JSON
    cannot write (a 500 before); the answer echoes the target as sent."""
    from sklearn.datasets import load_diabetes

    c = client_for("reg")
    rows = load_diabetes(as_frame=True).data.iloc[:2].to_dict("records")
    low = max(c.post("/predict", json={"instances": rows}).json()["predictions"]) + 20.0
    r = c.post("/counterfactuals", json={"instances": rows, "target": [low, None]})
    assert r.status_code == 200, r.text
    assert r.json()["target"] == [low, None]
    _check_served(c, r.json(), rows, [low, float("inf")])


@pytest.mark.parametrize(
    ("model", "extra", "field", "needle"),
    [
        ("loan", {"target": "maybe"}, "target", "classes"),
        ("loan", {"target": "approved", "constraints": {"fixed": ["salary"]}}, "constraints.fixed", "salary"),
        (
            "loan",
            {"target": "approved", "constraints": {"ranges": {"income": [1e9, 2e9]}}},
            "constraints.ranges.income",
            "plausible",
        ),
        (
            "loan",
            {"target": "approved", "constraints": {"categories": {"housing": ["castle"]}}},
            "constraints.categories.housing",
            "castle",
        ),
        ("loan", {"target": "approved", "count": 0}, "count", "1 to 20"),
        ("reg", {"target": [10.0, 5.0]}, "target", "empty"),
        # an integer beyond float64 (a 500 before), or a non-finite end: null is the open end
        ("reg", {"target": [10**400, None]}, "target", "finite numbers"),
        (
            "loan",
            {"target": "approved", "constraints": {"ranges": {"age": [0, 10**400]}}},
            "constraints.ranges.age",
            "finite",
        ),
    ],
)
def test_bad_requests_name_the_field(
    client_for: Any, model: str, extra: dict[str, Any], field: str, needle: str
) -> None:
    row = (
        LOAN_ROW
        if model == "loan"
        else dict.fromkeys(["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"], 0.0)
    )
    r = client_for(model).post("/counterfactuals", json={"instances": [row], **extra})
    _err(r, 400, field, needle)
