"""Malformed and oversized uploads are refused with a 4xx naming the field and what was expected,
and nothing is stored."""

from __future__ import annotations

import copy
import math

import pytest
from conftest import BACKENDS
from store_support import diabetes, explain_answer, global_answer, iris

from scorers.errors import InputError
from store import DatabaseExplanationClient, ExplanationStore, ExplanationTooLarge, api

MAX = 1_000_000


@pytest.fixture(scope="module", params=BACKENDS)
def vstore(request, tmp_path_factory):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('v') / 'store.db'}"
    else:
        url = request.getfixturevalue("pg_server").new_schema()
    s = ExplanationStore(url)
    yield s
    assert s.count() == 0, "a refused upload left something behind"
    s.close()


def _local():
    explainer, x = iris()
    return explain_answer(explainer, x.iloc[48:53])  # 5 rows, 3 classes, 4 features


def _regressor():
    explainer, x = diabetes()
    return explain_answer(explainer, x.iloc[:4])


def _global():
    explainer, x = iris()
    return global_answer(explainer.explain_global(x))


def _set(path, value):
    def edit(e):
        target = e
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
        return e

    return edit


def _drop(key):
    def edit(e):
        del e[key]
        return e

    return edit


LOCAL_CASES = {
    "class row too short": (
        _set(["local_importance_values", 1], [[0.0] * 4] * 2),
        "explanation.local_importance_values[1]",
        "expected 3 entries (one per class), got 2",
    ),
    "ragged feature row": (
        _set(["local_importance_values", 0, 2], [0.0] * 3),
        "explanation.local_importance_values[0][2]",
        "expected 4 entries (one per feature), got 3",
    ),
    "nan value": (
        _set(["local_importance_values", 2, 0, 1], math.nan),
        "explanation.local_importance_values[2][0][1]",
        "finite number",
    ),
    "infinite output": (
        _set(["explained_outputs", 4, 2], math.inf),
        "explanation.explained_outputs[4][2]",
        "finite number",
    ),
    "string value": (
        _set(["local_importance_values", 0, 0, 0], "0.5"),
        "explanation.local_importance_values[0][0][0]",
        "valid number",
    ),
    "expected values length": (
        _set(["expected_values"], [0.1, 0.2]),
        "explanation.expected_values",
        "expected 3 entries (one per class), got 2",
    ),
    "outputs rows": (
        lambda e: {**e, "explained_outputs": e["explained_outputs"][:4]},
        "explanation.explained_outputs",
        "expected 5 entries (one per row), got 4",
    ),
    "prediction not a class": (
        _set(["predictions", 3], "daisy"),
        "explanation.predictions[3]",
        "'daisy' is not one of the classes",
    ),
    "probabilities width": (
        _set(["probabilities", 1], [0.5, 0.5]),
        "explanation.probabilities[1]",
        "expected 3 entries (one per class), got 2",
    ),
    "duplicate feature": (
        lambda e: {**e, "features": [e["features"][0]] * 4},
        "explanation.features[1]",
        "duplicate feature",
    ),
    "NUL in a feature name": (
        lambda e: {**e, "features": ["a\x00b", *e["features"][1:]]},
        "explanation.features[0]",
        "expected text without NUL characters, got 'a\\x00b'",
    ),
    "class label not finite": (
        _set(["classes", 1], math.nan),
        "explanation.classes[1]",
        "expected a finite number, got nan",
    ),
    "class label not a label": (
        _set(["classes", 0], {"name": "setosa"}),
        "explanation.classes[0]",
        "expected a class label (a string of at most 256 characters, a number or a boolean)",
    ),
    "unknown space": (
        _set(["output_space"], "probabilities"),
        "explanation.output_space",
        "expected one of probability, log_odds, raw",
    ),
    "unknown field": (
        _set(["explanations"], []),
        "explanation.explanations",
        "unknown field; accepted fields are",
    ),
    "no rows": (
        lambda e: {
            **e,
            "local_importance_values": [],
            "explained_outputs": [],
            "predictions": [],
            "probabilities": [],
        },
        "explanation.local_importance_values",
        "at least one row",
    ),
    "neither local nor global": (
        _drop("local_importance_values"),
        "explanation",
        "expected the answer of /explain",
    ),
}

REGRESSOR_CASES = {
    "per-class expected values without classes": (
        _set(["expected_values"], [1.0]),
        "explanation.expected_values",
        "valid number",
    ),
    "feature row too long": (
        _set(["local_importance_values", 3], [0.0] * 11),
        "explanation.local_importance_values[3]",
        "expected 10 entries (one per feature), got 11",
    ),
}

GLOBAL_CASES = {
    "unknown kind": (_set(["kind"], "lime"), "explanation.kind", "unknown kind 'lime'; expected one of"),
    "per_class keys": (
        lambda e: {**e, "per_class": {"a": {}, "b": {}}},
        "explanation.per_class",
        "expected the keys ['setosa', 'versicolor', 'virginica']",
    ),
    "class missing a feature": (
        lambda e: {
            **e,
            "per_class": {
                **e["per_class"],
                "versicolor": dict(list(e["per_class"]["versicolor"].items())[:3]),
            },
        },
        "explanation.per_class.versicolor",
        "missing ['petal width (cm)']",
    ),
    "nan importance": (
        _set(["per_class", "setosa", "sepal length (cm)"], math.nan),
        "explanation.per_class.setosa.sepal length (cm)",
        "finite number",
    ),
    "ranked unknown feature": (
        _set(["ranked_names", 0], "petal colour"),
        "explanation.ranked_names[0]",
        "unknown feature 'petal colour'",
    ),
    "ranked lengths": (
        lambda e: {**e, "ranked_values": e["ranked_values"][:2]},
        "explanation.ranked_values",
        "expected 4 values (one per ranked name), got 2",
    ),
    "extras bad name": (_set(["extras"], {"Std": [0.0] * 4}), "explanation.extras.Std", "lower-case name"),
    "extras ragged": (
        _set(["extras"], {"std": [[0.0] * 4, [0.0] * 3, [0.0] * 4]}),
        "explanation.extras.std[1]",
        "expected 4 entries (one per feature), got 3",
    ),
    "info not finite": (_set(["info"], {"fidelity": math.nan}), "explanation.info.fidelity", "finite"),
    "no rows": (_set(["n_rows"], 0), "explanation.n_rows", "greater than or equal to 1"),
    "too many rows": (_set(["n_rows"], 2**40), "explanation.n_rows", "less than or equal to 2147483647"),
    "info with NUL": (_set(["info"], {"metric": "acc\x00"}), "explanation.info.metric", "without NUL"),
}

BODY_CASES = {
    "top_k zero": ({"top_k": 0}, "top_k", "greater than or equal to 1"),
    "top_k string": ({"top_k": "3"}, "top_k", "valid integer"),
    "comment too long": ({"comment": "x" * 1001}, "comment", "at most 1000 characters"),
    "unknown body field": ({"coment": "typo"}, "coment", "unknown field; accepted fields are: explanation"),
    "true_ys length": ({"true_ys": ["setosa"] * 4}, "true_ys", "expected 5 labels (one per row), got 4"),
    "true_ys not a class": ({"true_ys": ["setosa"] * 4 + ["rose"]}, "true_ys[4]", "'rose' is not one of"),
    "model without a name": ({"model": {"version": "1"}}, "model.name", "required field is missing"),
    "model not a name": ({"model": 7}, "model", "expected 'name[:version]'"),
    "model name too long": ({"model": "m" * 300 + ":1"}, "model.name", "at most 255 characters"),
    "comment with NUL": ({"comment": "a\x00"}, "comment", "without NUL characters"),
}


def _refused(vstore, body, field, message, status=400):
    with pytest.raises((InputError, ExplanationTooLarge)) as info:
        api.upload(vstore, body, MAX)
    exc = info.value
    assert (exc.status, exc.field) == (status, field), str(exc)
    assert message in str(exc)
    assert str(exc).startswith(f"field '{field}': ")


@pytest.mark.parametrize("case", LOCAL_CASES)
def test_malformed_local_refused(vstore, case):
    edit, field, message = LOCAL_CASES[case]
    _refused(vstore, {"explanation": edit(copy.deepcopy(_local()))}, field, message)


@pytest.mark.parametrize("case", REGRESSOR_CASES)
def test_malformed_regressor_refused(vstore, case):
    edit, field, message = REGRESSOR_CASES[case]
    _refused(vstore, {"explanation": edit(copy.deepcopy(_regressor()))}, field, message)


@pytest.mark.parametrize("case", GLOBAL_CASES)
def test_malformed_global_refused(vstore, case):
    edit, field, message = GLOBAL_CASES[case]
    _refused(vstore, {"explanation": edit(copy.deepcopy(_global()))}, field, message)


@pytest.mark.parametrize("case", BODY_CASES)
def test_malformed_body_refused(vstore, case):
    extra, field, message = BODY_CASES[case]
    _refused(vstore, {"explanation": _local(), **extra}, field, message)


def test_body_must_be_an_object_with_an_explanation(vstore):
    with pytest.raises(InputError, match="expected a JSON object with 'explanation', got list"):
        api.upload(vstore, [], MAX)
    _refused(vstore, {"comment": "c"}, "explanation", "required field is missing")


def test_oversized_upload_refused_before_validation(vstore):
    explainer, x = iris()
    body = {"explanation": explain_answer(explainer, x)}  # 150 x 3 x 4 numbers = 14,400 bytes
    with pytest.raises(ExplanationTooLarge) as info:
        api.upload(vstore, body, 10_000)
    assert (info.value.status, info.value.field) == (413, "explanation")
    assert "over the limit of 10000 per upload" in str(info.value)


def test_oversized_engine_explanation_refused_with_its_largest_field(vstore):
    explainer, x = iris()
    client = DatabaseExplanationClient(vstore, max_bytes=10_000)
    exp = explainer.explain(x.iloc[:120], error_estimate=False)  # its estimate would double the bytes
    with pytest.raises(ExplanationTooLarge) as info:
        client.upload_model_explanation(exp)
    assert (info.value.status, info.value.field) == (413, "explanation.local_importance_values")
    assert "(120, 3, 4)" in str(info.value)
    # trimmed to its top feature (overall and per class) it fits
    eid = client.upload_model_explanation(exp, top_k=1)
    vstore.delete(eid)


def test_not_an_explanation(vstore):
    client = DatabaseExplanationClient(vstore)
    with pytest.raises(InputError, match="expected an explanation .* got int") as info:
        client.upload_model_explanation(42)
    assert info.value.field == "explanation"
