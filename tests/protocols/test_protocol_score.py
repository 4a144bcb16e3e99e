"""POST /score: the seed's ``frame.to_json()`` in every pandas orient and Azure ML's ``{"data": ...}``,
answered with the score.py keys in Azure ML's layout, equal to /predict and /explain (in process)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest
from proto_helpers import additive, same

from scorers.errors import InputError
from service.protocols import pandas_json

ORIENTS = ("columns", "records", "split", "index", "values", "table")
H = {"content-type": "application/json"}


def _bodies(frame: pd.DataFrame) -> dict[str, str]:
    """Every body a client of score.py may send for ``frame``."""
    out = {o: frame.to_json(orient=o) for o in ORIENTS}
    out["default"] = frame.to_json()
    out["data-records"] = json.dumps({"data": json.loads(frame.to_json(orient="records"))})
    out["data-values"] = json.dumps({"data": frame.to_numpy().tolist()})
    out["data-split"] = json.dumps({"data": json.loads(frame.to_json(orient="split"))})
    out["input_data-split"] = json.dumps({"input_data": json.loads(frame.to_json(orient="split"))})
    return out


def _reference(c: Any, frame: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    """/predict and /explain of the rows exactly as the JSON carries them (pandas rounds to 10 digits)."""
    rows = json.loads(frame.to_json(orient="records"))
    predicted = c.post("/predict", json={"instances": rows})
    explained = c.post("/explain", json={"instances": rows})
    assert predicted.status_code == 200 and explained.status_code == 200
    return predicted.json(), explained.json()


def _check(body: dict[str, Any], predicted: dict[str, Any], explained: dict[str, Any]) -> None:
    assert list(body)[:2] == ["predictions", "local_importance_values"]
    assert body["predictions"] == predicted["predictions"]
    classifier = explained.get("classes") is not None
    if classifier:
        assert same(body["probabilities"], predicted["probabilities"])
        assert body["classes"] == predicted["classes"]
        # Azure ML's layout: one [row][feature] matrix per class
        values = np.asarray(body["local_importance_values"])
        assert values.shape == (len(body["classes"]), len(body["predictions"]), len(body["features"]))
        assert same(values.transpose(1, 0, 2), explained["local_importance_values"])
        assert additive(values, body["expected_values"], body["explained_outputs"], "class-row") < 1e-6
    else:
        assert same(body["local_importance_values"], explained["local_importance_values"])
        assert (
            additive(body["local_importance_values"], body["expected_values"], body["explained_outputs"])
            < 1e-6
        )
    for key in ("features", "output_space", "expected_values", "explained_outputs"):
        assert same(body[key], explained[key]) if key != "features" else body[key] == explained[key]


@pytest.mark.parametrize(
    "orient", [*ORIENTS, "default", "data-records", "data-values", "data-split", "input_data-split"]
)
def test_score_takes_every_orient_of_the_seed_rows(
    client: Any, seed_frames: dict[str, Any], orient: str
) -> None:
    c = client("svc")
    examples = seed_frames["x_test"][:4]  # the seed's call: x_test[:4], its shuffled index kept
    predicted, explained = _reference(c, examples)
    r = c.post("/score", content=_bodies(examples)[orient], headers=H)
    assert r.status_code == 200, r.text
    _check(r.json(), predicted, explained)


def test_score_keeps_column_names_categories_and_nulls(client: Any) -> None:
    from scorers.examples import loan_data

    c = client("loan")
    x, _ = loan_data()
    frame = x.iloc[[3, 0, 7]].copy()
    frame.iloc[0, frame.columns.get_loc("income")] = np.nan  # the model imputes income
    frame = frame[list(reversed(frame.columns))]  # column order does not matter: names do
    predicted, explained = _reference(c, frame)
    for orient in ("columns", "index", "split", "records"):
        r = c.post("/score", content=frame.to_json(orient=orient), headers=H)
        assert r.status_code == 200, (orient, r.text)
        _check(r.json(), predicted, explained)


def test_score_of_a_regressor_is_row_by_feature(client: Any) -> None:
    from sklearn.datasets import load_diabetes

    c = client("reg")
    frame = load_diabetes(as_frame=True).data.iloc[:3]
    predicted, explained = _reference(c, frame)
    r = c.post("/score", content=frame.to_json(), headers=H)
    assert r.status_code == 200, r.text
    body = r.json()
    assert np.asarray(body["local_importance_values"]).shape == (3, frame.shape[1])
    assert "classes" not in body and "probabilities" not in body
    _check(body, predicted, explained)


def _err(r: Any, status: int, kind: str, field: str | None, *needles: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error", "kind", "row", "field"}
    assert body["kind"] == kind and body["field"] == field, body
    for needle in needles:
        assert needle in body["error"], (needle, body)
    return body


def test_score_refuses_what_explain_refuses(client: Any, seed_frames: dict[str, Any]) -> None:
    c = client("loan")
    from scorers.examples import loan_data

    x, _ = loan_data()
    frame = x.iloc[:2].astype(object)
    frame.iloc[1, frame.columns.get_loc("age")] = "forty"  # a string where a number is expected
    body = _err(
        c.post("/score", content=frame.to_json(), headers=H), 400, "wrong_type", "age", "expected a number"
    )
    assert body["row"] == 1
    unknown = x.iloc[:2].rename(columns={"age": "agee"})
    _err(c.post("/score", content=unknown.to_json(), headers=H), 400, "unknown_feature", "agee")
    _err(c.post("/score", content=x.iloc[:2, :-1].to_json(), headers=H), 400, "missing_feature", "region")
    same_as_explain = c.post(
        "/explain", json={"instances": json.loads(unknown.to_json(orient="records"))}
    ).json()
    assert c.post("/score", content=unknown.to_json(orient="records"), headers=H).json() == same_as_explain
    # the seed's model cannot impute: a null (NaN in the frame) is refused as /explain refuses it
    svc = client("svc")
    rows = seed_frames["x_test"][:2].copy()
    rows.iloc[0, 0] = np.nan
    _err(
        svc.post("/score", content=rows.to_json(), headers=H),
        400,
        "wrong_type",
        "mean radius",
        "cannot impute",
    )
    # the wrong width in the values orient
    _err(
        svc.post("/score", content="[[1.0, 2.0]]", headers=H), 400, "wrong_width", None, "expected 30 values"
    )


def test_score_refuses_bodies_that_are_no_frame(client: Any) -> None:
    c = client("loan")
    cases = [
        (b"", 400, "invalid_json", None, "empty request body"),
        (b"{not json", 400, "invalid_json", None, "not valid JSON"),
        (b"42", 400, "invalid_input", None, "DataFrame.to_json()"),
        (b"[]", 400, "invalid_input", "instances", "at least one row"),
        (b"{}", 400, "invalid_input", None, "empty object"),
        (b'{"age": [41, 42]}', 400, "invalid_input", "age", "holds a JSON array"),
        (
            b'{"age": {"0": 41}, "income": {"1": 2}}',
            400,
            "invalid_input",
            "income",
            "no value for row label '0'",
        ),
        (b'{"columns": ["age"], "data": [[1, 2]]}', 400, "invalid_input", "data", "expected an array of 1"),
    ]
    for raw, status, kind, field, needle in cases:
        _err(c.post("/score", content=raw, headers=H), status, kind, field, needle)
    _err(
        c.post("/score", content=b"[]", headers={"content-type": "text/csv"}),
        415,
        "unsupported_media_type",
        None,
    )


def test_score_has_the_row_limit_of_explain(client: Any, seed_frames: dict[str, Any]) -> None:
    c = client("svc", SHAPSERVE_MAX_ROWS="3")
    frame = seed_frames["x_test"][:4]
    body = _err(
        c.post("/score", content=frame.to_json(), headers=H), 400, "invalid_input", "instances", "limit of 3"
    )
    assert body == c.post("/explain", json={"instances": json.loads(frame.to_json(orient="values"))}).json()


# -- orient detection, on the decoder itself --------------------------------------------------------------
FEATURES = ["a", "b"]


@pytest.mark.parametrize(
    ("payload", "orient", "rows"),
    [
        ({"a": {"7": 1, "3": 2}, "b": {"7": 3, "3": 4}}, "columns", [{"a": 1, "b": 3}, {"a": 2, "b": 4}]),
        ({"7": {"a": 1, "b": 3}, "3": {"a": 2, "b": 4}}, "index", [{"a": 1, "b": 3}, {"a": 2, "b": 4}]),
        # a missing feature still reads as the orient that names more features, so the error names it
        ({"7": {"a": 1}}, "index", [{"a": 1}]),
        ({"a": {"7": 1}}, "columns", [{"a": 1}]),
        # row labels that are feature names: a tie, read as pandas' default orient, columns
        ({"a": {"a": 1, "b": 2}, "b": {"a": 3, "b": 4}}, "columns", [{"a": 1, "b": 3}, {"a": 2, "b": 4}]),
        ([{"a": 1, "b": None}], "records", [{"a": 1, "b": None}]),
        ([[1, "x"]], "values", [[1, "x"]]),
        ({"columns": ["a", "b"], "index": [5], "data": [[1, 2]]}, "split", [{"a": 1, "b": 2}]),
        ({"columns": ["a", "b"], "data": [[1, 2]]}, "split", [{"a": 1, "b": 2}]),
        (
            {"schema": {"fields": [], "primaryKey": ["index"]}, "data": [{"index": 5, "a": 1, "b": 2}]},
            "table",
            [{"a": 1, "b": 2}],
        ),
        ({"data": [[1, 2]]}, "data:values", [[1, 2]]),
        ({"data": {"a": {"0": 1}, "b": {"0": 2}}}, "data:columns", [{"a": 1, "b": 2}]),
        ({"input_data": {"columns": ["a", "b"], "data": [[1, 2]]}}, "input_data:split", [{"a": 1, "b": 2}]),
    ],
)
def test_orient_is_read_off_the_shape(payload: Any, orient: str, rows: list[Any]) -> None:
    assert pandas_json.decode(payload, FEATURES) == (rows, orient)


def test_data_is_a_column_when_the_model_has_a_feature_named_data() -> None:
    assert pandas_json.decode({"data": {"0": 1.5}}, ["data"]) == ([{"data": 1.5}], "columns")
    with pytest.raises(InputError, match="key '0' holds a JSON number"):
        pandas_json.decode({"data": {"0": 1.5}}, ["x"])
