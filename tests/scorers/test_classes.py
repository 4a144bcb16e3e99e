"""``classes=`` names a classifier's classes for every kind of model: by position in the model's own
order (its ``classes_``, or its probability columns), everywhere (explanations, the explainer, the
manifest, predictions) and across a save/load round trip."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_model

import scorers

NAMES = ["low", "mid", "high"]


def _lightgbm() -> Any:
    import lightgbm as lgb

    x, y = dataset("multiclass")
    return lgb.LGBMClassifier(n_estimators=5, num_leaves=4, verbose=-1).fit(x.to_numpy(), y)


def _xgboost_booster() -> Any:
    import xgboost as xgb

    x, y = dataset("multiclass")
    return xgb.train(
        {"objective": "multi:softprob", "num_class": 3, "max_depth": 2}, xgb.DMatrix(x.to_numpy(), y), 5
    )


def _onnx() -> bytes:
    from skl2onnx import to_onnx

    model = fitted_model("logistic", "multiclass")
    x = dataset("multiclass")[0].to_numpy()
    return bytes(to_onnx(model, x[:1].astype(np.float64), options={"zipmap": False}).SerializeToString())


MODELS = {
    "sklearn": lambda: fitted_model("logistic", "multiclass"),
    "lightgbm": _lightgbm,
    "xgboost-booster": _xgboost_booster,
    "onnx": _onnx,
}


def _labels(name: str) -> list[Any]:
    return [0, 1, 2]  # every model here learned the labels 0, 1, 2


@pytest.mark.parametrize("name", list(MODELS))
def test_names_replace_labels_everywhere(name: str, tmp_path: Path) -> None:
    x = dataset("multiclass")[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MODELS[name]()
    plain = scorers.fit(model, x, background_size=8, eval_size=10)
    named = scorers.fit(model, x, classes=NAMES, background_size=8, eval_size=10)
    assert plain.classes == _labels(name)
    assert named.classes == NAMES and named.manifest.model.classes == NAMES
    assert named.manifest.model.labels == _labels(name)
    assert named.global_explanation is not None and named.global_explanation.classes == NAMES
    rows = x.iloc[-10:].reset_index(drop=True)
    exp = named.explain(rows)
    assert exp.classes == NAMES
    assert np.array_equal(exp.values, plain.explain(rows).values)  # naming changes no number
    labels = plain.predict(rows)
    assert list(named.predict(rows)) == [NAMES[_labels(name).index(int(v))] for v in labels]
    assert np.array_equal(named.predict_proba(rows), plain.predict_proba(rows))

    loaded = scorers.load(named.save(tmp_path / name), trust_pickle=True)
    assert loaded.classes == NAMES and loaded.manifest.model.labels == _labels(name)
    assert list(loaded.predict(rows)) == list(named.predict(rows))
    assert np.array_equal(loaded.explain(rows).values, exp.values)


def test_names_equal_to_the_labels_change_nothing() -> None:
    x = dataset("multiclass")[0]
    explainer = scorers.fit(fitted_model("logistic", "multiclass"), x, classes=[0, 1, 2], eval_size=5)
    assert explainer.manifest.model.labels is None and explainer.classes == [0, 1, 2]


def test_wrong_names_are_refused_naming_classes() -> None:
    x = dataset("multiclass")[0]
    model = fitted_model("logistic", "multiclass")
    with pytest.raises(scorers.InputError, match=r"expected 3 class names.*\[0, 1, 2\]; got 2") as err:
        scorers.fit(model, x, classes=["a", "b"])
    assert err.value.field == "classes"
    with pytest.raises(scorers.InputError, match="distinct") as err:
        scorers.fit(model, x, classes=["a", "b", "a"])
    assert err.value.field == "classes"
    with pytest.raises(scorers.InputError, match="regressor") as err:
        scorers.fit(fitted_model("ridge", "regression"), dataset("regression")[0], classes=["a"])
    assert err.value.field == "classes"


def test_binary_names_follow_the_model_order() -> None:
    """Labels ['no', 'yes'] (sorted by scikit-learn) named ['negative', 'positive'] by position."""
    from sklearn.linear_model import LogisticRegression

    x, y = dataset("binary")
    model = LogisticRegression().fit(x.to_numpy(), np.where(y == 1, "yes", "no"))
    explainer = scorers.fit(model, x, classes=["negative", "positive"], eval_size=5)
    rows = x.iloc[:20]
    expected = np.where(model.predict(rows.to_numpy()) == "yes", "positive", "negative")
    assert list(explainer.predict(rows)) == list(expected)
    assert explainer.explain(pd.DataFrame(rows)).classes == ["negative", "positive"]
