"""``transformations=``: a fitted ColumnTransformer or the seed's list of ``([column], transformer)`` tuples
in front of the model.  Raw-feature values are exact (brute-force oracle on the user's own pipeline) and are
the sums of the engineered values of each raw column; the user's fitted transformers are never refitted."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scorer_support import oracle_for
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import scorers
from scorers.errors import InputError
from scorers.examples import loan_data, loan_pipeline
from scorers.interpret import DataFrameMapper, TabularExplainer
from scorers.transformations import compose, from_tuples

NUMERICAL = ["age", "income", "debt_ratio", "years_employed"]
CATEGORICAL = ["housing", "purpose", "region"]


def seed_tuples() -> list[tuple[list[str], object]]:
    """The seed's tuple list (``sparse=False`` is ``sparse_output=False`` in scikit-learn >= 1.2)."""
    numeric = [
        ([f], Pipeline(steps=[("imputer", SimpleImputer(strategy="median")), ("scaler", StandardScaler())]))
        for f in NUMERICAL
    ]
    categorical = [([f], OneHotEncoder(handle_unknown="ignore", sparse_output=False)) for f in CATEGORICAL]
    return numeric + categorical


def _data(n: int = 400) -> tuple[pd.DataFrame, pd.Series]:
    x, y = loan_data(n)
    return x, y


def test_tuple_list_gives_exact_raw_values_that_sum_the_engineered_ones() -> None:
    x, y = _data()
    transformations = seed_tuples()
    clf = Pipeline(
        steps=[
            ("preprocessor", DataFrameMapper(transformations)),
            ("classifier", LogisticRegression(solver="lbfgs")),
        ]
    )
    clf.fit(x, y)  # fits the tuples' transformers in place, as sklearn-pandas does
    explainer = TabularExplainer(
        clf.steps[-1][1],
        initialization_examples=x.iloc[:200],
        features=list(x.columns),
        classes=["ok", "no"],
        transformations=transformations,
        background_size=15,
    )
    engine = explainer.explainer
    assert engine.manifest.masking.mode == "grouped" and engine.scorer.name == "linear"
    rows = x.iloc[300:305].reset_index(drop=True)

    # the raw values are the user's pipeline's exact interventional SHAP values
    local = explainer.explain_local(rows)
    phi, base, _ = oracle_for(engine, clf, rows, as_array=False)
    np.testing.assert_allclose(
        np.asarray(local.local_importance_values), np.transpose(phi, (1, 0, 2)), atol=1e-9
    )
    np.testing.assert_allclose(local.expected_values, base, atol=1e-9)
    assert local.classes == ["ok", "no"] and local.features == list(x.columns)

    # engineered values stay available; each raw value is the sum over its engineered columns
    eng = explainer.explain_local(rows, engineered=True)
    assert eng.is_engineered and eng.features == list(engine.masking.encoded_names)
    assert "housing_own" in eng.features and "age" in eng.features
    groups = engine.masking.column_group
    eng_values = np.asarray(eng.local_importance_values)
    summed = np.stack([eng_values[..., groups == j].sum(axis=-1) for j in range(len(x.columns))], axis=-1)
    np.testing.assert_allclose(summed, np.asarray(local.local_importance_values), atol=1e-12)
    glob_eng = explainer.explain_global(rows, engineered=True)
    assert glob_eng.features == eng.features and glob_eng.per_class.shape == (2, len(eng.features))


def test_fitted_tuples_are_never_refitted() -> None:
    x, y = _data()
    transformations = seed_tuples()
    DataFrameMapper(transformations).fit(x)  # fitted on all 400 rows
    head = LogisticRegression().fit(DataFrameMapper(transformations).transform(x), y)
    subset = x.iloc[:50]  # other statistics: a refit would scale and impute differently
    ct = from_tuples(transformations, subset)
    for (_, frozen, _), (_, original) in zip(ct.transformers_, transformations, strict=True):
        assert frozen.estimator is original
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = head.predict_proba(DataFrameMapper(transformations).transform(x.iloc[100:120]))
        got = compose(head, transformations, subset).predict_proba(x.iloc[100:120])
    np.testing.assert_array_equal(got, expected)


def test_fitted_column_transformer_equals_the_whole_pipeline() -> None:
    """The seed's ColumnTransformer example: transformations=preprocessor explains clf.steps[-1][1] exactly as
    the whole pipeline would be explained."""
    pipe, x, _ = loan_pipeline()
    rows = x.iloc[:150]
    via_transformations = TabularExplainer(
        pipe.steps[-1][1], initialization_examples=rows, transformations=pipe.steps[0][1], background_size=10
    )
    whole = scorers.fit(pipe, rows, background_size=10)
    test = x.iloc[1000:1006]
    a = via_transformations.explainer.explain(test)
    b = whole.explain(test)
    np.testing.assert_allclose(a.values, b.values, atol=1e-12)
    np.testing.assert_allclose(a.base_values, b.base_values, atol=1e-12)


def test_unfitted_models_and_transformations_are_refused_clearly() -> None:
    x, y = _data(60)
    with pytest.raises(InputError, match="LogisticRegression is not fitted.*clf.fit") as e:
        TabularExplainer(LogisticRegression(), x)
    assert e.value.field == "model"
    head = LogisticRegression().fit(np.zeros((4, 2)), [0, 1, 0, 1])
    with pytest.raises(InputError, match="StandardScaler is not fitted") as e:
        TabularExplainer(
            head, x, transformations=[(["age"], StandardScaler()), (["income"], StandardScaler())]
        )
    assert e.value.field == "transformations[0]"
    unfitted = ColumnTransformer([("num", StandardScaler(), ["age"])])
    with pytest.raises(InputError, match="ColumnTransformer is not fitted") as e:
        TabularExplainer(head, x, transformations=unfitted)
    with pytest.raises(InputError, match=r"column\(s\) \['salary'\]"):
        fitted = StandardScaler().fit(x[["age"]].rename(columns={"age": "salary"}))
        from_tuples([(["salary"], fitted)], x)
    with pytest.raises(InputError, match="expected a .columns, transformer. .*tuple"):
        from_tuples([StandardScaler()], x)
    with pytest.raises(InputError, match="only 'alias'"):
        from_tuples([(["age"], StandardScaler().fit(x[["age"]]), {"input_df": True})], x)


def test_data_frame_mapper_stand_in() -> None:
    x, _ = _data(50)
    transformations = [
        (["age"], StandardScaler()),
        ("housing", None),
        (["purpose"], OneHotEncoder(sparse_output=False)),
    ]
    mapper = DataFrameMapper(transformations)
    out = mapper.fit_transform(x)
    assert out.shape == (50, 1 + 1 + x["purpose"].nunique())
    assert transformations[0][1].mean_[0] == pytest.approx(x["age"].mean())  # fitted in place
    assert list(mapper.get_feature_names_out())[:2] == ["age", "housing"]
    with pytest.raises(InputError, match="df_out=False"):
        DataFrameMapper(transformations, df_out=True)
