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


# ----------------------------------------------- stored predictions: checked across the table, not its head
N_TABLE = 6000


@pytest.fixture(scope="module")
def mixed_explainer() -> scorers.ScoringExplainer:
    """A one-hot pipeline (numbers and a category) whose predictions the tests store and alter."""
    from sklearn.compose import ColumnTransformer
    from sklearn.preprocessing import OneHotEncoder

    x, y = _data()
    x["c"] = np.where(x["f0"] > 0, "a", "b").astype(object)
    x.loc[x.index[:5], "c"] = "rare"
    pre = ColumnTransformer(
        [("num", StandardScaler(), [f"f{i}" for i in range(6)]), ("cat", OneHotEncoder(), ["c"])]
    )
    model = make_pipeline(pre, LogisticRegression(max_iter=1000)).fit(x, np.where(y == 1, "yes", "no"))
    return scorers.fit(model, x, calibrate=False, eval_size=20)


def _table(explainer: scorers.ScoringExplainer, *, sort: bool = False) -> pd.DataFrame:
    x = _many(N_TABLE)
    x["c"] = np.where(x["f1"] > 0, "a", "b").astype(object)
    if sort:
        x = x.sort_values("f0").reset_index(drop=True)
    return explainer.validate(x)


def _own(explainer: scorers.ScoringExplainer, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return np.asarray(explainer.predict_frame(frame), dtype=object), explainer.predict_proba_frame(frame)


def _flipped(labels: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
    out = labels.copy()
    out[rows] = np.where(out[rows] == "yes", "no", "yes")
    return out


def _assert_redone(
    explainer: scorers.ScoringExplainer, frame: pd.DataFrame, got: bulk.TablePredictions
) -> None:
    labels, proba = _own(explainer, frame)
    assert got.source == "recomputed"
    assert list(got.labels) == list(labels)
    assert got.proba is not None and np.max(np.abs(got.proba - proba)) <= bulk.PARITY


def test_the_checked_rows_span_the_table() -> None:
    frame = pd.DataFrame({"x": np.arange(N_TABLE, dtype=float), "c": ["a"] * N_TABLE}, dtype=object)
    frame["x"] = frame["x"].astype(float)
    frame.loc[4000, "c"] = "rare"
    frame.loc[5000, "x"] = np.nan
    rows = bulk.check_rows(frame)
    assert rows.max() == N_TABLE - 1 and {4000, 5000} <= set(rows.tolist())
    # one row in each of CHECK_ROWS equal strata of positions: no gap wider than two strata
    stratum = (N_TABLE - bulk.TAIL_ROWS) / bulk.CHECK_ROWS
    assert np.max(np.diff(rows)) < 2 * stratum and rows.min() < stratum
    assert np.array_equal(rows, bulk.check_rows(frame))  # a fixed seed: the same rows every time
    small = frame.iloc[: bulk.CHECK_ROWS].reset_index(drop=True)
    assert np.array_equal(bulk.check_rows(small), np.arange(len(small)))  # a small table: every row


def test_a_sorted_table_that_differs_past_its_head_is_predicted_again(
    mixed_explainer: scorers.ScoringExplainer,
) -> None:
    frame = _table(mixed_explainer, sort=True)
    labels, proba = _own(mixed_explainer, frame)
    # as if other versions had predicted the middle fifth of the f0 range otherwise (rows 2400-3600)
    middle = slice(2 * N_TABLE // 5, 3 * N_TABLE // 5)
    stale = bulk.StoredPredictions(_flipped(labels, middle), proba)
    assert list(stale.labels[: bulk.CHECK_ROWS]) == list(labels[: bulk.CHECK_ROWS])  # the head agrees
    _assert_redone(mixed_explainer, frame, bulk.stored_or_predicted(mixed_explainer, frame, stale))
    # the same predictions unaltered are used as they are
    fresh = bulk.stored_or_predicted(mixed_explainer, frame, bulk.StoredPredictions(labels, proba))
    assert fresh.source == "stored" and fresh.labels is labels


def test_a_rare_category_past_the_head_is_checked(mixed_explainer: scorers.ScoringExplainer) -> None:
    frame = _table(mixed_explainer)
    frame.loc[4321, "c"] = "rare"  # its only row, far down
    labels, proba = _own(mixed_explainer, frame)
    # as if other versions had encoded the rare category otherwise: only that row differs
    stale = bulk.StoredPredictions(_flipped(labels, np.array([4321])), proba)
    _assert_redone(mixed_explainer, frame, bulk.stored_or_predicted(mixed_explainer, frame, stale))


@pytest.mark.parametrize("where", ["a block of 64 rows far down", "the last row"])
def test_a_tampered_prediction_far_down_is_detected(
    mixed_explainer: scorers.ScoringExplainer, where: str
) -> None:
    frame = _table(mixed_explainer)
    labels, proba = _own(mixed_explainer, frame)
    rows = np.arange(5000, 5064) if where.startswith("a block") else np.array([N_TABLE - 1])
    tampered = proba.copy()
    tampered[rows] = tampered[rows][:, ::-1]
    stale = bulk.StoredPredictions(labels, tampered)
    _assert_redone(mixed_explainer, frame, bulk.stored_or_predicted(mixed_explainer, frame, stale))


def test_predictions_of_other_library_versions_are_redone(
    mixed_explainer: scorers.ScoringExplainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _table(mixed_explainer)
    labels, proba = _own(mixed_explainer, frame)
    serving = bulk.prediction_versions(mixed_explainer)
    assert {"python", "numpy", "scikit-learn", "shapserve"} <= set(serving)
    same = bulk.StoredPredictions(labels, proba, dict(serving))
    assert bulk.stored_or_predicted(mixed_explainer, frame, same).source == "stored"
    unknown = bulk.StoredPredictions(labels, proba, None)  # an artifact that did not record them
    assert bulk.stored_or_predicted(mixed_explainer, frame, unknown).source == "stored"
    # right on every row, but made with another scikit-learn: every row is predicted again
    other = bulk.StoredPredictions(labels, proba, {**serving, "scikit-learn": "0.24.2"})
    counting = _Counting(mixed_explainer.runtime, monkeypatch)
    got = bulk.stored_or_predicted(mixed_explainer, frame, other)
    assert counting.rows >= 2 * N_TABLE
    _assert_redone(mixed_explainer, frame, got)


def test_the_fast_path_is_checked_past_the_first_rows(
    svc_explainer: scorers.ScoringExplainer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fast path that is wrong only where f0 is large, on a table sorted by f0: the first 256 rows agree."""
    from scorers.runtimes.fastpaths import RbfSvcProba

    frame = svc_explainer.validate(_many(N_TABLE).sort_values("f0").reset_index(drop=True))
    cut = float(frame["f0"].iloc[N_TABLE - N_TABLE // 10])  # the top tenth of f0: rows 5400 and later
    exact = RbfSvcProba.decision_function

    def drifting(self: RbfSvcProba, x: np.ndarray) -> np.ndarray:
        return exact(self, x) + np.where(x[:, 0] >= cut, 1e-3, 0.0)

    monkeypatch.setattr(RbfSvcProba, "decision_function", drifting)
    labels, proba = svc_explainer.predict_table(frame)
    assert list(labels) == list(svc_explainer.predict_frame(frame))
    assert (
        proba is not None and np.max(np.abs(proba - svc_explainer.predict_proba_frame(frame))) <= bulk.PARITY
    )
