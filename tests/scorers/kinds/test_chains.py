"""The ``permutation`` scorer's chain paths (``scorers.chains``) against the model's own predict and the
brute-force oracle: every prefix value of a chain equals the model on that hybrid row (rows the model was
not fitted on, a ReLU pre-activation at exactly 0, a tie between the k-th and (k+1)-th neighbour), the
packaged scorer gives the hybrids' values to rounding, and they survive saving and loading."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, fitted_model, oracle_for

import scorers
from scorers.chains import KnnChain, MlpChain, chain_path, owner_matrix
from scorers.kinds.permutation import PermutationScorer
from scorers.permutations import antithetic_orders, chain_masks


def _prefix_hybrids(x: np.ndarray, bg: np.ndarray, orders: np.ndarray) -> np.ndarray:
    """Every prefix hybrid of every order, built row by row: (nb, P, M - 1, d)."""
    masks = chain_masks(orders)
    return np.where(masks, x[None, None, None, :], bg[:, None, None, :])


def _fit(model: Any, x: np.ndarray, y: np.ndarray) -> Any:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x, y)


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
def test_an_mlp_chain_equals_the_models_predict_on_every_prefix(task: str) -> None:
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    frame, y = dataset(task)
    x = frame.to_numpy()
    make = MLPRegressor if task == "regression" else MLPClassifier
    model = _fit(make(hidden_layer_sizes=(8, 4), max_iter=300, random_state=0), x[:150], y[:150])
    model.intercepts_[0][0] = 0.0  # unit 0 sits at ReLU's kink on the zero row
    row = np.zeros(x.shape[1])
    assert float((row @ model.coefs_[0] + model.intercepts_[0])[0]) == 0.0
    space = "raw" if task == "regression" else "probability"
    path = chain_path(model, space, "identity")
    assert isinstance(path, MlpChain)

    def own(a: np.ndarray) -> np.ndarray:
        out = model.predict(a) if task == "regression" else model.predict_proba(a)
        return np.asarray(out, dtype=np.float64).reshape(len(a), -1)

    bg = x[150:170]  # rows the model never saw
    orders = antithetic_orders(len(bg), x.shape[1], 2, seed=1)
    owner = owner_matrix(np.arange(x.shape[1]), x.shape[1])
    for explained in (row, x[-1]):
        got = path.chain(explained, bg, orders, owner, own)
        hybrids = _prefix_hybrids(explained, bg, orders)
        want = own(hybrids.reshape(-1, x.shape[1])).reshape(got.shape)
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    np.testing.assert_allclose(path.outputs(x[150:], own), own(x[150:]), rtol=0, atol=1e-12)


@pytest.mark.parametrize("task", ["regression", "classification"])
def test_a_knn_chain_breaks_a_tie_at_the_kth_neighbour_like_the_model(task: str) -> None:
    """Two training points at the same distance from a hybrid, with different targets: which one is
    the neighbour is the model's choice, and the chain takes the model's answer there."""
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    train = np.array([[0.0, 0.0], [2.0, 0.0], [9.0, 9.0], [-9.0, 4.0], [5.0, -7.0]])
    if task == "regression":
        model = _fit(KNeighborsRegressor(1, algorithm="brute"), train, np.array([0.0, 1.0, 5.0, 7.0, 3.0]))
        space = "raw"

        def own(a: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict(a), dtype=np.float64).reshape(len(a), -1)
    else:
        model = _fit(KNeighborsClassifier(1, algorithm="brute"), train, np.array([0, 1, 1, 0, 2]))
        space = "probability"

        def own(a: np.ndarray) -> np.ndarray:
            return np.asarray(model.predict_proba(a), dtype=np.float64)

    path = chain_path(model, space, "identity")
    assert isinstance(path, KnnChain)
    x = np.array([1.0, 5.0])
    bg = np.array([[7.0, 0.0], [1.0, -3.0], [4.0, 2.0]])  # (x0, b1) of the first row is (1, 0): a tie
    orders = antithetic_orders(len(bg), 2, 1, seed=0)
    orders[0] = [[0, 1], [1, 0]]  # row 0's first prefix is {x0}
    got = path.chain(x, bg, orders, owner_matrix(np.arange(2), 2), own)
    hybrids = _prefix_hybrids(x, bg, orders).reshape(-1, 2)
    assert [1.0, 0.0] in hybrids.tolist()
    np.testing.assert_array_equal(got.reshape(len(hybrids), -1), own(hybrids))
    rows = np.array([[1.0, 0.0], [3.0, 3.0], [-2.0, 1.0]])  # unpackaged rows, the first a tie
    np.testing.assert_array_equal(path.outputs(rows, own), own(rows))


def _packaged(model_name: str, data: str) -> tuple[Any, scorers.ScoringExplainer, pd.DataFrame]:
    frame, _ = dataset(data)
    model = fitted_model(model_name, data)
    explainer = scorers.fit(model, frame.iloc[:120], scorer="permutation", eval_size=5, calibrate=False)
    return model, explainer, frame.iloc[-3:].reset_index(drop=True)


@pytest.mark.parametrize(("model_name", "data", "name"), [("mlp", "binary", MlpChain.name)])
def test_the_packaged_scorer_takes_the_chain_and_gives_the_hybrids_values(
    model_name: str, data: str, name: str
) -> None:
    model, explainer, rows = _packaged(model_name, data)
    scorer = explainer.scorer
    assert scorer.params["chain"] == name and scorer.params["pairs"] >= 1
    x = explainer.masking.encode(rows)
    ctx = scorer._check_fitted()
    hybrids = PermutationScorer(pairs=scorer.params["pairs"], chain="none").fit(ctx)
    phi, fx, se = scorer.shap_values_with_se(x)
    want, _, want_se = hybrids.shap_values_with_se(x)
    np.testing.assert_allclose(phi, want, rtol=0, atol=1e-9)
    np.testing.assert_allclose(se, want_se, rtol=0, atol=1e-9)
    np.testing.assert_allclose(phi.sum(axis=-1), fx - scorer.base_values, rtol=0, atol=1e-6)
    truth = oracle_for(explainer, model, rows, as_array=True)[0]
    assert float(np.mean(np.abs(phi.reshape(truth.shape) - truth))) <= 3 * float(np.mean(se))
    # what loading an artifact does (scorers.assemble): the recorded params, then the stored state
    restored = PermutationScorer(**scorer.params).set_state(ctx, scorer.state())
    assert restored.params == scorer.params and restored.path_ is not None
    np.testing.assert_array_equal(restored.shap_values(x)[0], phi)


def test_a_knn_pipeline_is_explained_through_its_chain_to_rounding() -> None:
    """A scaler in front of the KNN: the chain runs on the encoded columns the KNN sees."""
    from sklearn.neighbors import KNeighborsRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame, y = dataset("regression")
    model = _fit(make_pipeline(StandardScaler(), KNeighborsRegressor(5)), frame.to_numpy()[:120], y[:120])
    explainer = scorers.fit(model, frame.iloc[:120], scorer="permutation", eval_size=5, calibrate=False)
    scorer = explainer.scorer
    assert scorer.params["chain"] == KnnChain.name
    x = explainer.masking.encode(frame.iloc[-3:].reset_index(drop=True))
    hybrids = PermutationScorer(pairs=scorer.params["pairs"], chain="none").fit(scorer._check_fitted())
    np.testing.assert_allclose(scorer.shap_values(x)[0], hybrids.shap_values(x)[0], rtol=0, atol=1e-9)


def test_no_chain_for_other_models_or_weights() -> None:
    from sklearn.neighbors import KNeighborsRegressor

    frame, y = dataset("regression")
    distance = _fit(KNeighborsRegressor(5, weights="distance"), frame.to_numpy(), y)
    assert chain_path(distance, "raw", "identity") is None
    assert chain_path(fitted_model("mlp", "binary"), "probability", "raw") is None  # whole pipeline
    assert chain_path(None, "raw", "identity") is None
