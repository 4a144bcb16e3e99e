"""The search's de-duplication of candidate rows (``search.first_distinct``): the same rows as numpy's
row-wise ``np.unique`` (missing values never equal, -0.0 equal to 0.0), and a search over stored rows
full of duplicates that answers with distinct rows the model confirms, within the constraints."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

import scorers
from scorers.counterfactuals.search import first_distinct


def test_first_distinct_finds_numpys_first_occurrences() -> None:
    rng = np.random.default_rng(3)
    for n, m in ((1, 1), (7, 3), (400, 5)):
        z = rng.integers(0, 3, size=(n, m)).astype(float)  # many repeated rows
        z[rng.random((n, m)) < 0.05] = np.nan
        z[(z == 0.0) & (rng.random((n, m)) < 0.5)] = -0.0  # equal to 0.0
        _, first = np.unique(z, axis=0, return_index=True)
        np.testing.assert_array_equal(first_distinct(z), np.sort(first))
    assert first_distinct(np.array([[0.0, 1.0], [-0.0, 1.0]])).tolist() == [0]
    assert first_distinct(np.array([[np.nan, 1.0], [np.nan, 1.0]])).tolist() == [0, 1]


def test_counterfactuals_from_duplicated_rows_are_distinct_valid_and_constrained() -> None:
    rng = np.random.default_rng(0)
    base = pd.DataFrame(rng.integers(-3, 4, size=(60, 4)).astype(float), columns=["a", "b", "c", "d"])
    x = pd.concat([base] * 5, ignore_index=True)  # every stored row five times
    y = np.where(x["a"] + x["b"] - 0.5 * x["c"] > 0, 1, 0)
    model = LogisticRegression().fit(x, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        explainer = scorers.fit(model, x, eval_size=100)
    rows = base.iloc[:8]
    pred = model.predict(rows)
    answered = 0
    for i in range(len(rows)):
        row = rows.iloc[[i]]
        target = 1 - int(pred[i])
        out = explainer.counterfactuals(
            row, target, count=3, constraints={"fixed": ["d"], "ranges": {"c": [-2.0, 2.0]}}
        ).rows[0]
        answered += out.found > 0
        assert len(out.frame.drop_duplicates()) == out.found  # no row twice
        assert (model.predict(out.frame) == target).all()
        assert (out.frame["d"] == row.iloc[0]["d"]).all()
        moved = out.frame["c"] != row.iloc[0]["c"]
        assert out.frame.loc[moved, "c"].between(-2.0, 2.0).all()
    assert answered == len(rows)
