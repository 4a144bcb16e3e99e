"""The benchmark's independent probability-space reference (benchmarks/permutation_reference.py and
``benchmarks.reference.permutation_reference``) against the brute-force oracle on small RBF SVCs.

The walks' values are the model's ``predict_proba`` on the hybrids they stand for (pruned pairs
included); averaged over every order of the features they are the exact Shapley values; sampled, they are
additive and within their own stated standard errors of the oracle; and the cached runner computes a
row once and refuses walks off the model.
"""

from __future__ import annotations

import itertools
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import frame_model, shapley_oracle
from sklearn.datasets import make_classification
from sklearn.svm import SVC

from benchmarks import reference
from benchmarks.permutation_reference import SvcPaths, check_paths, estimate


def _svc(
    m: int, n: int = 60, gamma: float = 0.3, scale: float = 1.0, seed: int = 0
) -> tuple[Any, np.ndarray]:
    x, y = make_classification(n, m, n_informative=m, n_redundant=0, random_state=seed)
    x = x * scale
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # probability=True is deprecated in sklearn 1.9
        model = SVC(gamma=gamma, C=10.0, probability=True, random_state=0).fit(x, y)
    return model, x


def _oracle(model: Any, background: np.ndarray, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Exact positive-class probability SHAP values (n, M) by enumerating coalitions."""
    names = [f"x{j}" for j in range(background.shape[1])]
    f = frame_model(model, "probability", as_array=True)
    phi, _, _ = shapley_oracle(
        f, pd.DataFrame(background, columns=names), weights, pd.DataFrame(rows, columns=names)
    )
    return phi[:, 1, :]


def test_walks_are_the_model_on_their_hybrids_with_pairs_pruned() -> None:
    model, x = _svc(6, gamma=2.0, scale=3.0)  # far-apart rows: many pairs under the pruning bound
    paths = SvcPaths(model, x[:30])
    steps = paths.steps(x[40])
    assert len(steps.b_idx) < 0.9 * 30 * len(model.support_vectors_)
    assert check_paths(paths, x[40], walks=30) < 1e-12


def test_every_order_averaged_is_the_exact_shapley_value() -> None:
    model, x = _svc(4)
    background, rows = x[:12], x[50:53]
    weights = np.random.default_rng(1).random(12)
    weights /= weights.sum()
    paths = SvcPaths(model, background, weights)
    truth = _oracle(model, background, weights, rows)
    orders = list(itertools.permutations(range(4)))
    for row, expected in zip(rows, truth, strict=True):
        steps = paths.steps(row)
        total = sum(paths.contributions(steps, np.tile(order, (12, 1))) for order in orders)
        np.testing.assert_allclose(weights @ total / len(orders), expected, rtol=0, atol=1e-12)


def test_sampled_values_are_additive_and_within_their_standard_errors() -> None:
    model, x = _svc(5)
    background, rows = x[:20], x[40:45]
    paths = SvcPaths(model, background)
    truth = _oracle(model, background, np.full(20, 1 / 20), rows)
    f_rows = model.predict_proba(rows)[:, 1]
    f_mean = model.predict_proba(background)[:, 1].mean()
    z = []
    for i, row in enumerate(rows):
        est = estimate(paths, row, rounds=64, seed=i)
        assert abs(est.phi.sum() - (f_rows[i] - f_mean)) < 1e-12
        assert np.all(est.se > 0)
        z.append((est.phi - truth[i]) / est.se)
    z2 = np.square(z)
    assert z2.max() < 25, z2.max()  # no feature beyond 5 standard errors
    assert 0.25 < z2.mean() < 3, z2.mean()  # the stated errors are the errors' size (25 features)


def test_refuses_other_models_and_a_single_round() -> None:
    model, x = _svc(3)
    with pytest.raises(ValueError, match="RBF SVC"):
        SvcPaths(SVC(kernel="linear", probability=True).fit(x, model.predict(x)), x[:5])
    with pytest.raises(ValueError, match="2 rounds"):
        estimate(SvcPaths(model, x[:5]), x[10], rounds=1, seed=0)


def test_the_cached_runner_computes_a_row_once(tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    model, x = _svc(4)
    monkeypatch.setattr(reference, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(reference, "OUT", tmp_path / "out")
    phi, se, info = reference.permutation_reference(model, x[:10], x[50:52], rounds=8, workers=0)
    assert info["computed_rows"] == 2 and info["path_check"] < 1e-12
    again, se2, info2 = reference.permutation_reference(model, x[:10], x[50:53], rounds=8, workers=0)
    assert info2["cached_rows"] == 2 and info2["computed_rows"] == 1
    np.testing.assert_array_equal(again[:2], phi)
    np.testing.assert_array_equal(se2[:2], se)
    truth = _oracle(model, x[:10], np.full(10, 0.1), x[50:53])
    assert np.all(np.abs(again - truth) < 6 * se2 + 1e-12)
