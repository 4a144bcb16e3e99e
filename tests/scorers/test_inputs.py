"""Bad input raises a typed error that names the field (and the row) and says what was expected."""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_explainer, frame_model, loan, shapley_oracle

import scorers


@functools.cache
def numeric() -> scorers.ScoringExplainer:
    """x0..x4, all numbers; a plain LogisticRegression cannot impute, so nothing is nullable."""
    return fitted_explainer("linear-logistic-binary")


@functools.cache
def strict_pipeline() -> scorers.ScoringExplainer:
    """The loan pipeline with OneHotEncoder(handle_unknown='error'): unseen categories are rejected."""
    from sklearn.base import clone

    from scorers.examples import loan_data

    pipe, rows = loan()
    strict = clone(pipe).set_params(preprocessor__cat__onehot__handle_unknown="error")
    strict.fit(rows, loan_data()[1].iloc[:300])
    return scorers.fit(strict, rows, background_size=8, eval_size=5)


def good_row() -> dict[str, float]:
    return {k: float(v) for k, v in dataset("binary")[0].iloc[0].items()}


def loan_row() -> dict[str, object]:
    return {
        "age": 41.0,
        "income": 52000.0,
        "debt_ratio": 0.3,
        "years_employed": 6.0,
        "housing": "rent",
        "purpose": "car",
        "region": "north",
    }


def _raises(error: type[scorers.InputError], field: str | None, rows, *expected: str, explainer=None):  # type: ignore[no-untyped-def]
    """Explaining ``rows`` raises ``error`` naming ``field`` (attribute and message) and the expected text."""
    explainer = explainer or numeric()
    with pytest.raises(error) as info:
        explainer.explain(rows)
    err = info.value
    assert type(err) is error, f"expected {error.__name__}, got {type(err).__name__}: {err}"
    assert err.status == 400
    if field is not None:
        assert err.field == field and f"'{field}'" in str(err), str(err)
    for text in expected:
        assert text in str(err), f"{text!r} not in {str(err)!r}"
    return err


def test_the_good_row_is_accepted() -> None:
    exp = numeric().explain([good_row()])
    assert exp.values.shape == (1, 2, 5)
    assert not any(f.nullable for f in numeric().schema.features)


# ---- unknown and missing columns -----------------------------------------------------------------
def test_unknown_column() -> None:
    row = {**good_row(), "colour": 3.0}
    _raises(scorers.UnknownFeatureError, "colour", [row], "unknown feature", "x0")
    frame = pd.DataFrame([row])
    _raises(scorers.UnknownFeatureError, "colour", frame, "expected features")


def test_integer_column_names_are_matched_as_at_packaging() -> None:
    """Training rows whose columns are named 0, 1, 2 (a frame made from an array) are packaged with the
    features '0', '1', '2'; the same frame's rows are explained, equal to the oracle, not refused as an
    unknown feature '0' (as they were), and a missing or unknown one is still named."""
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame(np.random.default_rng(1).normal(size=(60, 3)))
    model = LogisticRegression().fit(x.to_numpy(), (x[0] + x[1] > 0).astype(int))
    explainer = scorers.fit(model, x, eval_size=5)
    assert explainer.features == ["0", "1", "2"]
    rows = x.iloc[[3, 17, 40]]
    exp = explainer.explain(rows)
    bg = explainer.background
    phi, base, fx = shapley_oracle(
        frame_model(model, exp.output_space, as_array=True),
        bg.raw,
        np.asarray(bg.weights),
        rows.set_axis(bg.raw.columns, axis=1),
    )
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)
    np.testing.assert_allclose(
        explainer.predict_proba(rows), model.predict_proba(rows.to_numpy()), rtol=0, atol=1e-12
    )
    _raises(scorers.MissingFeatureError, "2", rows[[0, 1]], "missing feature '2'", explainer=explainer)
    _raises(
        scorers.UnknownFeatureError,
        "3",
        rows.assign(**{"3": 1.0}),
        "unknown feature '3'",
        explainer=explainer,
    )


def test_a_boolean_training_column_is_refused_saying_how_to_encode_it() -> None:
    """A pandas bool column (a model fed it computes with 0/1) is refused at packaging with the
    encoding that keeps the model's numbers; 0/1 then explains as the model computes, to the oracle."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(2)
    x = pd.DataFrame({"age": rng.normal(40, 9, 80), "member": rng.random(80) < 0.4})
    y = ((x.age - 40) / 9 + x.member > 0.5).astype(int)
    model = LogisticRegression().fit(x, y)
    with pytest.raises(scorers.InputError) as info:
        scorers.fit(model, x)
    assert info.value.field == "member" and "0/1 numbers" in str(info.value), str(info.value)
    numbers = x.astype({"member": np.int64})
    explainer = scorers.fit(model, numbers, eval_size=5)
    rows = numbers.iloc[[1, 2, 60]]
    exp = explainer.explain(rows)
    bg = explainer.background
    phi, _, fx = shapley_oracle(
        frame_model(model, exp.output_space, as_array=False), bg.raw, np.asarray(bg.weights), rows
    )
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-9)


def _training_rows_cases() -> dict[str, tuple[object, pd.DataFrame, type, str | None, str]]:
    """name -> (model, training rows, error, field, text): packaging refuses rows that are not the
    model's input with a typed error, instead of a scikit-learn traceback from inside a scorer."""
    from sklearn.linear_model import LogisticRegression

    x = pd.DataFrame(np.random.default_rng(3).normal(size=(40, 3)), columns=["a", "b", "c"])
    model = LogisticRegression().fit(x, (x.a > 0).astype(int))
    twice = x.set_axis(["a", "a", "c"], axis=1)
    return {
        "missing values it does not impute": (
            model,
            x.assign(b=x.b.mask(x.b > 1)),
            scorers.InputError,
            "b",
            "missing values in 'b'",
        ),
        "a column it never saw": (model, x.assign(d=1.0), scorers.InputError, "background", "unseen at fit"),
        "a column it needs is absent": (
            model,
            x[["a", "b"]],
            scorers.InputError,
            "background",
            "missing: - c",
        ),
        "a column named twice": (model, twice, scorers.InputError, "a", "appears more than once"),
        "an unfitted model": (LogisticRegression(), x, scorers.UnsupportedModelError, None, "not fitted"),
    }


@pytest.mark.parametrize("case", list(_training_rows_cases()))
def test_training_rows_the_model_cannot_take_are_refused_naming_why(case: str) -> None:
    model, rows, error, field, text = _training_rows_cases()[case]
    with pytest.raises(error) as info:
        scorers.fit(model, rows)
    assert type(info.value) is error and getattr(info.value, "field", None) == field, str(info.value)
    assert text in str(info.value), str(info.value)


def test_no_rows_to_explain_is_refused_as_over_http() -> None:
    with pytest.raises(scorers.InputError, match="at least one row") as info:
        numeric().explain(dataset("binary")[0].iloc[:0])
    assert info.value.field == "rows"


def test_missing_column() -> None:
    row = good_row()
    del row["x3"]
    err = _raises(scorers.MissingFeatureError, "x3", [good_row(), row], "missing feature")
    assert err.row == 1
    _raises(scorers.MissingFeatureError, "x3", pd.DataFrame([row]), "missing feature")


# ---- types ----------------------------------------------------------------------------------------
def test_string_where_a_number_is_expected() -> None:
    row = {**good_row(), "x2": "12.5"}
    _raises(scorers.WrongTypeError, "x2", [row], "expected a number", "str", "'12.5'")
    frame = pd.DataFrame([good_row(), row])
    err = _raises(scorers.WrongTypeError, "x2", frame, "expected a number")
    assert err.row == 1


def test_bool_is_not_a_number() -> None:
    row = {**good_row(), "x1": True}
    _raises(scorers.WrongTypeError, "x1", [row], "expected a number", "bool")
    frame = pd.DataFrame([good_row()]).assign(x1=True)
    _raises(scorers.WrongTypeError, "x1", frame, "expected a number", "bool")


@pytest.mark.parametrize("value", [float("inf"), -float("inf")])
def test_infinity_is_refused(value: float) -> None:
    _raises(scorers.WrongTypeError, "x4", [{**good_row(), "x4": value}], "finite number")
    frame = pd.DataFrame([good_row(), {**good_row(), "x4": value}])
    err = _raises(scorers.WrongTypeError, "x4", frame, "finite number")
    assert err.row == 1


@pytest.mark.parametrize("value", [None, float("nan")])
def test_missing_value_where_the_model_cannot_impute(value: float | None) -> None:
    _raises(scorers.WrongTypeError, "x0", [{**good_row(), "x0": value}], "cannot impute", "finite number")
    _raises(scorers.WrongTypeError, "x0", [[value, 1.0, 2.0, 3.0, 4.0]], "cannot impute")
    frame = pd.DataFrame([{**good_row(), "x0": np.nan}])
    _raises(scorers.WrongTypeError, "x0", frame, "cannot impute")


def test_missing_value_where_the_pipeline_imputes_is_explained() -> None:
    explainer = fitted_explainer("pipeline-linear")
    assert all(f.nullable for f in explainer.schema.features)
    row = {**loan_row(), "income": None, "housing": None}
    exp = explainer.explain([row])
    assert np.all(np.isfinite(exp.values))
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, atol=1e-9)


def test_number_where_a_category_is_expected() -> None:
    explainer = fitted_explainer("pipeline-linear")
    _raises(
        scorers.WrongTypeError,
        "housing",
        [{**loan_row(), "housing": 3}],
        "string category",
        explainer=explainer,
    )


# ---- categories -------------------------------------------------------------------------------------
def _feature(explainer: scorers.ScoringExplainer, name: str):  # type: ignore[no-untyped-def]
    return explainer.schema.features[explainer.features.index(name)]


def test_unseen_category_accepted_where_the_encoder_ignores_it() -> None:
    explainer = fitted_explainer("pipeline-linear")
    assert _feature(explainer, "purpose").unseen == "accepted"
    exp = explainer.explain([{**loan_row(), "purpose": "vacation"}])
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, atol=1e-9)


def test_unseen_category_rejected_where_the_encoder_rejects_it() -> None:
    explainer = strict_pipeline()
    assert _feature(explainer, "purpose").unseen == "rejected"
    explainer.explain([loan_row()])  # seen categories are fine
    err = _raises(
        scorers.InputError,
        "purpose",
        [loan_row(), {**loan_row(), "purpose": "vacation"}],
        "unseen category",
        "'vacation'",
        "business",  # the expected categories are listed
        explainer=explainer,
    )
    assert err.row == 1
    frame = pd.DataFrame([{**loan_row(), "purpose": "vacation"}])
    _raises(scorers.InputError, "purpose", frame, "unseen category", explainer=explainer)


# ---- shape ----------------------------------------------------------------------------------------
def test_wrong_width_of_an_array_row() -> None:
    err = _raises(scorers.WrongWidthError, None, [[1.0, 2.0, 3.0, 4.0]], "expected 5 values", "got 4")
    assert err.row == 0
    err = _raises(scorers.WrongWidthError, None, [[1.0] * 5, [1.0] * 6], "expected 5 values", "got 6")
    assert err.row == 1
    _raises(scorers.WrongWidthError, None, np.zeros((2, 4)), "5 columns", "(2, 4)")
    _raises(scorers.WrongWidthError, None, np.zeros(5), "2-d array")


def test_not_a_list_of_rows() -> None:
    _raises(scorers.InputError, "instances", {"x0": 1.0}, "expected a list of rows")
    _raises(scorers.InputError, "instances", [], "at least one row")


def test_prediction_validates_the_same_way() -> None:
    with pytest.raises(scorers.WrongTypeError, match="'x2'"):
        numeric().predict([{**good_row(), "x2": "high"}])
    with pytest.raises(scorers.UnknownFeatureError, match="'colour'"):
        numeric().predict_proba([{**good_row(), "colour": 1.0}])
