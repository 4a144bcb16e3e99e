"""The anchored kernel scorer's default split (scorers/fidelity/tune.py ``_best_split``): background rows x
coalitions (and the anchor's estimator: least squares, secant, or the secant alone) chosen at packaging
among ``split_candidates`` at ``SPLIT_EVALUATIONS`` model evaluations per row.

Checked against the brute-force oracle over every training row on rows the model never saw: the served
split is one of the splits, replayed after a save and load, additive, and its stated error is within 2x
of the oracle's.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scorer_support import frame_model, shapley_oracle

import scorers
from scorers.fidelity.tune import SPLIT_EVALUATIONS, SPLITS, split_candidates

N_TRAIN, N_HELD_OUT, M = 80, 4, 8


@functools.cache
def _case() -> tuple[Any, pd.DataFrame, pd.DataFrame, scorers.ScoringExplainer]:
    from sklearn.datasets import make_classification
    from sklearn.svm import SVC

    x, y = make_classification(
        n_samples=N_TRAIN + N_HELD_OUT, n_features=M, n_informative=5, n_redundant=1, random_state=4
    )
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(M)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SVC(probability=True, random_state=0).fit(x[:N_TRAIN], y[:N_TRAIN])
    train = frame.iloc[:N_TRAIN].reset_index(drop=True)
    held_out = frame.iloc[N_TRAIN:].reset_index(drop=True)
    explainer = scorers.fit(model, train, scorer="kernel", output_space="probability", eval_size=3)
    return model, train, held_out, explainer


def test_the_served_split_is_one_measured_and_is_replayed(tmp_path: Path) -> None:
    _, _, held_out, explainer = _case()
    fidelity = explainer.manifest.fidelity
    assert fidelity is not None and "split of" in fidelity.method
    assert explainer.scorer.params["anchor"] == "kernel_machine:raw"
    params = explainer.manifest.scorer.params
    coalitions = params["n_coalitions"]
    tried = split_candidates(SPLIT_EVALUATIONS, secant=True)
    assert (coalitions, params.get("estimator")) in {(c, e) for _, c, e in tried}
    assert len(explainer.background.weights) * coalitions <= SPLIT_EVALUATIONS
    assert len(explainer.background.weights) <= max(SPLITS)
    assert all(f"{r} x {c}" in fidelity.method for r, c, _ in tried)  # every candidate measured, named
    assert "secant" in fidelity.method
    served = explainer.explain(held_out)
    np.testing.assert_allclose(served.values.sum(axis=-1) + served.base_values, served.outputs, atol=1e-6)
    explainer.save(tmp_path / "a")
    back = scorers.load(tmp_path / "a", trust_pickle=True)
    np.testing.assert_array_equal(back.explain(held_out).values, served.values)


def test_the_stated_error_of_the_split_holds_on_unseen_rows() -> None:
    model, train, held_out, explainer = _case()
    f = frame_model(model, explainer.output_space, as_array=True)
    truth = np.concatenate(
        [shapley_oracle(f, train, np.ones(N_TRAIN), held_out.iloc[i : i + 1])[0] for i in range(N_HELD_OUT)]
    )
    measured = float(np.mean(np.abs(explainer.explain(held_out).values - truth)) / np.mean(np.abs(truth)))
    fidelity = explainer.manifest.fidelity
    assert fidelity is not None
    stated = fidelity.rel_mae_vs_full_data
    assert measured / 2 - 0.003 <= stated <= 2 * measured + 0.003, (stated, measured, fidelity.method)
