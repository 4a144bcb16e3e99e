"""The counterfactual engine on small fitted models: validity against the model itself, constraints,
plausibility, a row that cannot move, and request mistakes naming the field."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression

import scorers
from scorers.errors import InputError


@pytest.fixture(scope="module")
def classifier() -> tuple[object, object, pd.DataFrame]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(300, 4)), columns=["a", "b", "c", "d"])
    x["d"] = rng.integers(0, 10, 300).astype(float)
    y = np.where(x["a"] + 0.5 * x["b"] - 0.2 * x["d"] > -0.9, "yes", "no")
    model = LogisticRegression().fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, x, eval_size=100)
    return model, explainer, x


def test_every_counterfactual_reaches_the_class_and_stays_plausible(classifier) -> None:  # type: ignore[no-untyped-def]
    model, explainer, x = classifier
    rows = x.iloc[:6]
    pred = model.predict(rows)
    for i in range(len(rows)):
        target = "no" if pred[i] == "yes" else "yes"
        out = explainer.counterfactuals(rows.iloc[[i]], target, count=3).rows[0]
        assert out.found >= 1, out.reason
        assert (model.predict(out.frame) == target).all()  # the model itself, not the engine's answer
        for j, cf in out.frame.iterrows():
            changed = [n for n in x.columns if cf[n] != rows.iloc[i][n]]
            assert changed == out.changed[j]
            for n in changed:
                assert x[n].min() <= cf[n] <= x[n].max()
            assert float(cf["d"]).is_integer()  # a whole-numbered feature stays whole
        np.testing.assert_allclose(
            out.explanation.values, explainer.explain(out.frame, error_estimate=False).values, atol=1e-12
        )


def test_constraints_hold_and_an_immovable_row_says_so(classifier) -> None:  # type: ignore[no-untyped-def]
    model, explainer, x = classifier
    row = x.iloc[[0]]
    target = "no" if model.predict(row)[0] == "yes" else "yes"
    out = explainer.counterfactuals(
        row, target, count=3, constraints={"fixed": ["a"], "ranges": {"b": [-1.0, 3.0]}}
    ).rows[0]
    for _, cf in out.frame.iterrows():
        assert cf["a"] == row.iloc[0]["a"]
        assert cf["b"] == row.iloc[0]["b"] or -1.0 <= cf["b"] <= 3.0
    assert (model.predict(out.frame) == target).all()
    stuck = explainer.counterfactuals(row, target, constraints={"fixed": list(x.columns)}).rows[0]
    assert stuck.found == 0 and "constraints" in stuck.reason
    same = explainer.counterfactuals(row, model.predict(row)[0]).rows[0]
    assert same.found == 0 and "already" in same.reason


def test_regressor_ranges_and_request_mistakes() -> None:
    rng = np.random.default_rng(1)
    x = pd.DataFrame(rng.normal(size=(200, 3)), columns=["p", "q", "r"])
    model = LinearRegression().fit(x, x["p"] * 2 + x["q"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, x, eval_size=100)
    out = explainer.counterfactuals(x.iloc[[0]], [2.0, 3.0], count=2).rows[0]
    assert out.found >= 1
    assert ((model.predict(out.frame) >= 2.0) & (model.predict(out.frame) <= 3.0)).all()
    cases = [
        ([3.0, 2.0], None, 1, "target"),
        ("yes", None, 1, "target"),
        ([0, 1], {"fixed": ["zzz"]}, 1, "constraints.fixed"),
        ([0, 1], {"ranges": {"p": [50, 60]}}, 1, "constraints.ranges.p"),
        ([0, 1], None, 99, "count"),
    ]
    for target, constraints, count, field in cases:
        with pytest.raises(InputError) as err:
            explainer.counterfactuals(x.iloc[[0]], target, count=count, constraints=constraints)
        assert err.value.field == field
