"""Any object with ``predict`` (and ``predict_proba`` for a classifier) is explained as a black box.

The objects here have no scikit-learn tags.  They are explained by ``exact`` (and ``kernel`` on request),
additively, and match the brute-force oracle; their artifact file is a pickle, under the trust rule.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, shapley_oracle

import scorers
from scorers.runtimes.generic import GenericRuntime

W = np.array([1.5, -2.0, 0.5, 3.0, 0.0])


class PredictOnlyRegressor:
    """A regressor with interactions, fed float arrays."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return x @ W + x[:, 0] * x[:, 1] - np.tanh(x[:, 2] * x[:, 3])


class ProbaClassifier:
    """Three classes from a softmax of interacting scores; labels are strings, there is no classes_."""

    def _scores(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        return np.column_stack([x @ W, x[:, 0] * x[:, 2], -x[:, 1] + x[:, 3] * x[:, 4]])

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        s = self._scores(x)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.array(["high", "low", "mid"])[np.argmax(self._scores(x), axis=1)]


class FrameClassifier(ProbaClassifier):
    """Takes DataFrames (it has feature_names_in_, as scikit-learn models fitted on frames) and has classes_."""

    feature_names_in_ = np.array([f"x{j}" for j in range(5)], dtype=object)
    classes_ = np.array(["high", "low", "mid"], dtype=object)

    def predict_proba(self, x: Any) -> np.ndarray:
        assert isinstance(x, pd.DataFrame), type(x)
        return super().predict_proba(x[list(self.feature_names_in_)].to_numpy())

    def predict(self, x: Any) -> np.ndarray:
        assert isinstance(x, pd.DataFrame), type(x)
        return super().predict(x[list(self.feature_names_in_)].to_numpy())


def _x() -> pd.DataFrame:
    return dataset("regression")[0]


def _rows() -> pd.DataFrame:
    return _x().iloc[-6:].reset_index(drop=True)


def _oracle(explainer: scorers.ScoringExplainer, f: Any) -> tuple[np.ndarray, ...]:
    bg = explainer.background
    return shapley_oracle(f, bg.raw, np.asarray(bg.weights), _rows())


@pytest.mark.parametrize("scorer", ["auto", "kernel"])
def test_a_predict_only_regressor_is_a_black_box_matching_the_oracle(scorer: str) -> None:
    model = PredictOnlyRegressor()
    explainer = scorers.fit(model, _x(), scorer=scorer, background_size=10, eval_size=10)
    assert isinstance(explainer.runtime, GenericRuntime) and explainer.task == "regressor"
    assert explainer.scorer.name == ("exact" if scorer == "auto" else "kernel")
    assert explainer.output_space == "raw" and explainer.manifest.model.prediction_runtime == "generic"
    exp = explainer.explain(_rows())
    phi, base, fx = _oracle(explainer, lambda f: model.predict(f.to_numpy())[:, None])
    # 5 players: the kernel design enumerates every coalition, so it is exact too
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.base_values, base, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("model", [ProbaClassifier(), FrameClassifier()], ids=["arrays", "frames"])
def test_a_predict_proba_classifier_is_a_black_box_matching_the_oracle(model: Any) -> None:
    explainer = scorers.fit(model, _x(), background_size=10, eval_size=10)
    assert explainer.task == "classifier" and explainer.classes == ["high", "low", "mid"]
    assert (explainer.scorer.name, explainer.output_space) == ("exact", "probability")
    assert explainer.masking.mode == ("raw" if isinstance(model, FrameClassifier) else "identity")
    exp = explainer.explain(_rows())

    def f(frame: pd.DataFrame) -> np.ndarray:
        return model.predict_proba(frame if isinstance(model, FrameClassifier) else frame.to_numpy())

    phi, base, fx = _oracle(explainer, f)
    np.testing.assert_allclose(exp.values, phi, rtol=0, atol=1e-9)
    np.testing.assert_allclose(exp.outputs, fx, rtol=0, atol=1e-12)
    np.testing.assert_allclose(exp.base_values + exp.values.sum(axis=2), exp.outputs, rtol=0, atol=1e-9)
    x = _rows()
    assert list(explainer.predict(x)) == list(
        model.predict(x if isinstance(model, FrameClassifier) else x.to_numpy())
    )


class RegressorWithProba(PredictOnlyRegressor):
    """A regressor that also has a predict_proba (say, of exceeding a threshold)."""

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self.predict(x)))
        return np.column_stack([1 - p, p])


def test_the_task_hint_decides_for_a_black_box() -> None:
    assert scorers.fit(RegressorWithProba(), _x(), background_size=5, eval_size=5).task == "classifier"
    as_regressor = scorers.fit(RegressorWithProba(), _x(), task="regressor", background_size=5, eval_size=5)
    assert as_regressor.task == "regressor" and as_regressor.output_space == "raw"
    with pytest.raises(scorers.UnsupportedModelError, match="without predict_proba"):
        scorers.fit(PredictOnlyRegressor(), _x(), task="classifier")
    with pytest.raises(scorers.InputError, match="unknown task"):
        scorers.fit(PredictOnlyRegressor(), _x(), task="ranker")


def test_an_object_with_neither_method_is_refused() -> None:
    with pytest.raises(scorers.UnsupportedModelError, match="object cannot be explained: it has no predict"):
        scorers.fit(object(), _x())


def test_a_black_box_is_stored_as_a_pickle_under_the_trust_rule(tmp_path: Path) -> None:
    explainer = scorers.fit(ProbaClassifier(), _x(), classes=["H", "L", "M"], background_size=8, eval_size=5)
    directory = explainer.save(tmp_path / "generic")
    manifest = explainer.manifest.model
    assert (manifest.file, manifest.format, manifest.pickle, manifest.type) == (
        "model.joblib",
        "joblib",
        True,
        "ProbaClassifier",
    )
    with pytest.raises(scorers.UntrustedModelError, match="a pickle is code"):
        scorers.load(directory)
    loaded = scorers.load(directory, trust_pickle=True)
    assert isinstance(loaded.runtime, GenericRuntime) and loaded.classes == ["H", "L", "M"]
    x = _rows()
    a, b = explainer.explain(x), loaded.explain(x)
    assert np.array_equal(a.values, b.values) and np.array_equal(a.outputs, b.outputs)
    assert np.array_equal(a.base_values, b.base_values)
    assert list(loaded.predict(x)) == list(explainer.predict(x))
    assert set(loaded.predict(x)) <= {"H", "L", "M"}


class TwoOutputs:
    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.column_stack([x[:, 0], x[:, 1]])


def test_a_black_box_regressor_with_several_outputs_is_refused() -> None:
    with pytest.raises(scorers.UnsupportedModelError, match="several outputs"):
        scorers.fit(TwoOutputs(), _x(), background_size=5, eval_size=5)
