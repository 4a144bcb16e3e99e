"""A request's labels from the explained decision values (scorers.decision_predictions): equal to the
model's own ``predict`` on rows that were not packaged, at the decision boundary too, with the model's own
``predict_proba`` bit for bit; used only once verified, the model's calls otherwise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import scorers
from scorers import bulk
from scorers.decision_predictions import verified
from scorers.examples import breast_cancer_svc


@pytest.fixture(scope="module")
def seed() -> tuple[scorers.ScoringExplainer, pd.DataFrame]:
    """The seed's SVC explained in its margin (the kernel_machine scorer), and its test rows (never
    packaged: neither the background nor the sample holds them)."""
    model, x_train, x_test, *_ = breast_cancer_svc()
    return scorers.fit(model, x_train, calibrate=False, eval_size=20, background_size=10), x_test


def _near_boundary(explainer: scorers.ScoringExplainer, rows: pd.DataFrame, within: float) -> pd.DataFrame:
    """A row on the segment between two rows of different labels whose decision value is within ``within``
    of 0 (bisection on the model's own decision function)."""
    model = explainer.runtime.model
    x = rows.to_numpy(dtype=np.float64)
    d = model.decision_function(x)
    lo, hi = x[np.argmin(d)], x[np.argmax(d)]  # d < 0 at lo, d > 0 at hi
    for _ in range(200):
        mid = (lo + hi) / 2
        value = float(model.decision_function(mid[None, :])[0])
        if abs(value) < within:
            return pd.DataFrame(mid[None, :], columns=rows.columns)
        lo, hi = (mid, hi) if value < 0 else (lo, mid)
    raise AssertionError("no row near the boundary")


def _model_asks(explainer: scorers.ScoringExplainer, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Rows the model itself is asked to ``predict`` (label), counted."""
    runtime = explainer.runtime
    asked: list[int] = []
    real = runtime.predict

    def counted(frame: pd.DataFrame) -> np.ndarray:
        asked.append(len(frame))
        return real(frame)  # type: ignore[no-any-return]

    monkeypatch.setattr(runtime, "predict", counted)
    return asked


def _equal_to_the_model(explainer: scorers.ScoringExplainer, frame: pd.DataFrame, got: tuple) -> None:
    labels, proba = got
    assert list(labels) == list(explainer.predict_frame(frame))
    want = explainer.predict_proba_frame(frame)
    assert proba is not None and proba.dtype == want.dtype and proba.tobytes() == want.tobytes()


def test_unseen_rows_get_the_models_labels_without_calling_predict(
    seed: tuple[scorers.ScoringExplainer, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    explainer, x_test = seed
    assert explainer.decision_path is not None
    assert explainer.decision_path.checked is not None  # the probabilities without scikit-learn's checks
    frame = explainer.validate(x_test)
    explained = explainer.explain_frame(frame)
    asked = _model_asks(explainer, monkeypatch)
    from_explanation = explainer.predictions(frame, explained.outputs)
    by_gemm = explainer.predictions(frame)  # /predict: the decision values as one GEMM
    assert asked == []
    monkeypatch.undo()
    _equal_to_the_model(explainer, frame, from_explanation)
    _equal_to_the_model(explainer, frame, by_gemm)
    # the answer's explained outputs are the decision values the labels come from
    assert np.array_equal(np.sign(explained.outputs[:, 1]) > 0, from_explanation[0] == explainer.classes[1])


@pytest.mark.parametrize("within", [1e-3, 1e-9])
def test_a_row_at_the_decision_boundary(
    seed: tuple[scorers.ScoringExplainer, pd.DataFrame], monkeypatch: pytest.MonkeyPatch, within: float
) -> None:
    """Near 0 (1e-3) the sign decides; within bulk.BOUNDARY (1e-9 here), where rounding could flip it, the
    model labels the row itself."""
    explainer, x_test = seed
    frame = explainer.validate(_near_boundary(explainer, x_test, within))
    outputs = explainer.explain_frame(frame).outputs
    asked = _model_asks(explainer, monkeypatch)
    explained = explainer.predictions(frame, outputs)
    predicted = explainer.predictions(frame)
    assert asked == ([1, 1] if within < bulk.BOUNDARY else [])
    monkeypatch.undo()
    _equal_to_the_model(explainer, frame, explained)
    _equal_to_the_model(explainer, frame, predicted)


def test_a_model_that_answers_otherwise_keeps_its_own_calls(
    seed: tuple[scorers.ScoringExplainer, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    explainer, x_test = seed
    runtime = explainer.runtime
    real = runtime.predict
    classes = np.asarray(runtime.classes, dtype=object)

    def flipped(frame: pd.DataFrame) -> np.ndarray:  # a model whose labels are not the decision's sign
        return np.where(np.asarray(real(frame), dtype=object) == classes[0], classes[1], classes[0])

    monkeypatch.setattr(runtime, "predict", flipped)
    assert verified(explainer) is None
    monkeypatch.setattr(explainer, "decision_path", None)
    frame = explainer.validate(x_test.iloc[:5])
    labels, proba = explainer.predictions(frame, explainer.explain_frame(frame).outputs)
    assert list(labels) == list(flipped(frame))
    assert proba is not None and np.array_equal(proba, explainer.predict_proba_frame(frame))


def test_other_models_have_no_decision_path() -> None:
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(80, 4)), columns=list("abcd"))
    logistic = LogisticRegression().fit(x.to_numpy(), x["a"] + x["b"] > 0)
    assert scorers.fit(logistic, x, calibrate=False, eval_size=10).decision_path is None


def test_probabilities_past_the_checks_only_once_equal_to_the_model(
    seed: tuple[scorers.ScoringExplainer, pd.DataFrame], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The libsvm step is used when it answers the model's ``predict_proba`` bit for bit on the packaged
    rows; a library whose step answers otherwise (here one ulp off) keeps the model's own call."""
    from scorers import decision_predictions

    explainer, x_test = seed
    real = decision_predictions._libsvm_proba(explainer.runtime.model)
    assert real is not None
    monkeypatch.setattr(
        decision_predictions, "_libsvm_proba", lambda _m: lambda x: np.nextafter(real(x), 1.0)
    )
    path = verified(explainer)
    assert path is not None and path.checked is None
    frame = explainer.validate(x_test.iloc[:3])
    _equal_to_the_model(explainer, frame, path.of(frame, explainer.explain_frame(frame).outputs))


def test_a_non_finite_row_gets_the_models_own_call_and_refusal(
    seed: tuple[scorers.ScoringExplainer, pd.DataFrame],
) -> None:
    """Rows the schema passes but scikit-learn's checks refuse (not finite) are not handed to libsvm
    unchecked: the model's call answers them, with its own error."""
    explainer, x_test = seed
    path = explainer.decision_path
    assert path is not None and path.checked is not None
    frame = x_test.iloc[:2].astype(np.float64).copy()
    frame.iloc[1, 0] = np.inf
    with pytest.raises(ValueError, match="infinity") as unchecked:
        path.proba(frame)
    with pytest.raises(ValueError) as own:
        explainer.runtime.predict_proba(frame)
    assert str(unchecked.value) == str(own.value)
