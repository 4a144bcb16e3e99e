"""scorers.bulk: a table's predictions equal predict_frame / predict_proba_frame row for row, through the
RBF SVC fast path (checked against the model, the boundary rows asked of the model) and without it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

import scorers
from scorers import bulk


def _data(n: int = 300, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    x, y = make_classification(n_samples=n, n_features=6, n_informative=4, random_state=seed)
    return pd.DataFrame(x, columns=[f"f{i}" for i in range(6)]), y


@pytest.fixture(scope="module")
def svc_explainer() -> scorers.ScoringExplainer:
    x, y = _data()
    model = SVC(probability=True, random_state=0).fit(x, np.where(y == 1, "yes", "no"))
    return scorers.fit(model, x, calibrate=False, eval_size=20)


def _many(n: int) -> pd.DataFrame:
    x, _ = _data(n, seed=1)
    return x


class _Counting:
    """Counts the rows the model itself is asked to predict."""

    def __init__(self, runtime: object, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows = 0
        predict, proba = runtime.predict, runtime.predict_proba  # type: ignore[attr-defined]

        def counted(fn):  # noqa: ANN001, ANN202
            def call(frame: pd.DataFrame):  # noqa: ANN202
                self.rows += len(frame)
                return fn(frame)

            return call

        monkeypatch.setattr(runtime, "predict", counted(predict))
        monkeypatch.setattr(runtime, "predict_proba", counted(proba))


def test_the_svc_fast_path_equals_the_model_row_for_row(
    svc_explainer: scorers.ScoringExplainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = svc_explainer.validate(_many(3000))
    labels_ref = svc_explainer.predict_frame(frame)
    proba_ref = svc_explainer.predict_proba_frame(frame)
    counting = _Counting(svc_explainer.runtime, monkeypatch)
    labels, proba = svc_explainer.predict_table(frame)
    assert list(labels) == list(labels_ref)
    assert proba is not None and proba.shape == proba_ref.shape
    assert np.max(np.abs(proba - proba_ref)) <= bulk.PARITY
    # the model was asked only for the checked rows (twice: labels and probabilities) and the boundary
    assert counting.rows < 3 * bulk.CHECK_ROWS


def test_rows_at_the_boundary_are_labelled_by_the_model(
    svc_explainer: scorers.ScoringExplainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = svc_explainer.validate(_many(500))
    monkeypatch.setattr(bulk, "BOUNDARY", np.inf)  # every row is "at the boundary"
    counting = _Counting(svc_explainer.runtime, monkeypatch)
    labels, _ = svc_explainer.predict_table(frame)
    assert counting.rows >= len(frame)
    assert list(labels) == list(svc_explainer.predict_frame(frame))


def test_a_failed_check_falls_back_to_the_model(
    svc_explainer: scorers.ScoringExplainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = svc_explainer.validate(_many(600))
    monkeypatch.setattr(bulk, "PARITY", -1.0)  # no fast result can pass
    counting = _Counting(svc_explainer.runtime, monkeypatch)
    labels, proba = svc_explainer.predict_table(frame)
    assert counting.rows >= 2 * len(frame)  # predict and predict_proba of every row, by the model
    assert list(labels) == list(svc_explainer.predict_frame(frame))
    assert proba is not None and np.array_equal(proba, svc_explainer.predict_proba_frame(frame))


def test_models_without_a_fast_path_are_predicted_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _data()
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, y)
    e = scorers.fit(model, x, calibrate=False, eval_size=20, classes=["no", "yes"])
    monkeypatch.setattr(bulk, "CHUNK", 128)
    frame = e.validate(_many(1000))
    labels, proba = e.predict_table(frame)
    assert list(labels) == list(e.predict_frame(frame)) and set(labels) == {"no", "yes"}
    assert proba is not None and np.array_equal(proba, e.predict_proba_frame(frame))


def test_a_regressor_has_values_and_no_probabilities() -> None:
    from sklearn.svm import SVR

    x, y = _data()
    e = scorers.fit(SVR().fit(x, y.astype(float)), x, calibrate=False, eval_size=20)
    frame = e.validate(_many(400))
    values, proba = e.predict_table(frame)
    assert proba is None
    assert np.array_equal(values.astype(np.float64), np.asarray(e.predict_frame(frame), dtype=np.float64))
