"""Fidelity on large data: beyond ``POOL_CAP`` training rows the reference is a uniform sample, and the
stated error must still be the error against **all** the training rows.

Models with 5,000 training rows and 5 features are packaged with the defaults (``scorers.fit`` as the
CLI calls it, with held-out rows as evaluation rows).  Their served explanations are compared with the
brute-force oracle (``scorer_support.shapley_oracle``) over all 5,000 training rows, on held-out rows
and on training rows: the stated errors (``manifest.fidelity`` and its ``holdout``, what ``/metadata``
serves) must be within 2x of the measured ones.  The stated ``uncertainty`` must be what a 2,000-row
sample's reference is off by, measured with the same oracle.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import frame_model, shapley_oracle

import scorers
from scorers.fidelity import rel_mae
from scorers.fidelity.measure import MAE_PER_SE
from scorers.fidelity.tune import POOL_CAP

N_TRAIN = 5000
N_HELD_OUT = 16
M = 5
DRAWS = 4  # samples of the training rows the uncertainty is checked with


def test_a_tree_model_on_5000_rows_serves_the_full_data_values() -> None:
    """Above ``POOL_CAP`` the tree kind takes every training row as its background: it states 0 and its
    served values are the oracle's over all 5,000 rows, on held-out rows and on training rows."""
    explainer, model, train, held_out = _packaged("boosting")
    fidelity = explainer.manifest.fidelity
    assert fidelity is not None and fidelity.rel_mae_vs_full_data == 0.0
    assert explainer.manifest.scorer.kind == "tree" and len(explainer.background.weights) == N_TRAIN
    rows = pd.concat([held_out.iloc[:6], train.iloc[[0, 2499, N_TRAIN - 1]]], ignore_index=True)
    truth = _oracle(model, explainer.output_space, train, rows)
    np.testing.assert_allclose(explainer.explain(rows).values, truth, rtol=0, atol=1e-9)


def _data() -> tuple[pd.DataFrame, np.ndarray]:
    from sklearn.datasets import make_friedman1

    x, y = make_friedman1(n_samples=N_TRAIN + N_HELD_OUT, n_features=M, noise=0.3, random_state=0)
    return pd.DataFrame(x, columns=[f"x{j}" for j in range(M)]), y


def _model(name: str) -> Any:
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.neural_network import MLPRegressor

    x, y = _data()
    model = {
        "mlp": MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0),  # a black box: exact
        "boosting": GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0),  # tree
    }[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit(x.to_numpy()[:N_TRAIN], y[:N_TRAIN])


def _oracle(model: Any, space: str, background: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
    """(n, K, M) interventional Shapley values against every row of ``background``, two rows at a time."""
    f = frame_model(model, space, as_array=True)
    weights = np.ones(len(background))
    parts = [
        shapley_oracle(f, background, weights, rows.iloc[i : i + 2].reset_index(drop=True))[0]
        for i in range(0, len(rows), 2)
    ]
    return np.concatenate(parts)


@functools.cache
def _packaged(name: str) -> tuple[scorers.ScoringExplainer, Any, pd.DataFrame, pd.DataFrame]:
    """(explainer, model, training rows, held-out rows) of a model packaged with the defaults."""
    x, _ = _data()
    train = x.iloc[:N_TRAIN].reset_index(drop=True)
    held_out = x.iloc[N_TRAIN:].reset_index(drop=True)
    model = _model(name)
    return scorers.fit(model, train, holdout=held_out), model, train, held_out


@pytest.mark.parametrize("name", ["mlp"])
def test_the_stated_error_of_a_sampled_reference_is_the_full_data_error(name: str) -> None:
    explainer, model, train, held_out = _packaged(name)
    fidelity = explainer.manifest.fidelity
    assert fidelity is not None and fidelity.holdout is not None
    assert fidelity.training_rows == N_TRAIN and fidelity.reference_rows == POOL_CAP < N_TRAIN
    assert fidelity.uncertainty is not None and fidelity.uncertainty > 0
    space = explainer.output_space

    # held-out rows: the very rows the holdout figure was measured on
    held = held_out.iloc[fidelity.holdout.rows].reset_index(drop=True)
    truth_held = _oracle(model, space, train, held)
    measured_held = rel_mae(explainer.explain(held).values, truth_held)
    assert 0.5 <= fidelity.holdout.rel_mae_vs_full_data / measured_held <= 2.0, (measured_held, fidelity)

    # training rows: the headline figure is measured on training rows that chose nothing (decision 55);
    # 16 of them, as many as the oracle over 5,000 rows affords
    assert fidelity.statement_rows is not None and len(fidelity.statement_rows) == fidelity.rows_checked
    rows = train.iloc[fidelity.statement_rows[:16]].reset_index(drop=True)
    measured_train = rel_mae(explainer.explain(rows).values, _oracle(model, space, train, rows))
    assert 0.5 <= fidelity.rel_mae_vs_full_data / measured_train <= 2.0, (measured_train, fidelity)

    # the uncertainty: what a reference against a uniform sample of POOL_CAP rows is off by (on average:
    # one draw's error is correlated across rows, and varied 0.4x-1x of the mean here)
    rng = np.random.default_rng(7)
    few = held.iloc[:8]
    drawn = [
        rel_mae(_oracle(model, space, train.iloc[np.sort(idx)].reset_index(drop=True), few), truth_held[:8])
        for idx in (rng.choice(N_TRAIN, POOL_CAP, replace=False) for _ in range(DRAWS))
    ]
    assert fidelity.holdout.uncertainty is not None
    ratio = MAE_PER_SE * fidelity.holdout.uncertainty / float(np.mean(drawn))
    assert 0.5 <= ratio <= 2.0, (drawn, fidelity.holdout)
