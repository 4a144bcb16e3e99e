"""An exact kind's default background size (scorers/fidelity/tune.py ``_budget_sizes``): calibrated sizes of
1, 1.2, 1.5 and 2 x the kind's size whose work per explained row fits ``SIZE_BUDGET`` are measured at
packaging, and the fewest rows whose error is within ``TIE`` of the smallest are served.

Checked on an RBF SVR (the ``kernel_machine`` kind, work = background rows x support vectors): the served
size is the one the rule picks from the stated errors of those sizes packaged one by one, and its error holds
against the brute-force oracle over every training row on rows the model never saw.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import frame_model, shapley_oracle

import scorers
from scorers.fidelity.tune import _budget_sizes, cheapest_of_equals

N_TRAIN, N_HELD_OUT, M = 160, 4, 5


@functools.cache
def _case() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    from sklearn.datasets import make_friedman1
    from sklearn.svm import SVR

    x, y = make_friedman1(n_samples=N_TRAIN + N_HELD_OUT, n_features=M, random_state=5)
    frame = pd.DataFrame(x, columns=[f"f{i}" for i in range(M)])
    model = SVR(C=10.0).fit(x[:N_TRAIN], y[:N_TRAIN])
    return model, frame.iloc[:N_TRAIN].reset_index(drop=True), frame.iloc[N_TRAIN:].reset_index(drop=True)


def test_the_sizes_tried_are_the_ones_within_the_budget() -> None:
    assert _budget_sizes(50, 455, 272, 20480) == [50, 60, 75]  # the seed's SVC: 100 x 272 is over
    assert _budget_sizes(50, 455, 272, 10000) == [50]  # the kind's size even over the budget
    assert _budget_sizes(50, 55, 10, 10**6) == [50, 55]  # never more rows than the pool
    assert _budget_sizes(50, 455, None, 20480) == [50] and _budget_sizes(50, 455, 272, None) == [50]


def test_the_default_serves_the_fewest_rows_of_the_most_accurate_within_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model, train, held_out = _case()
    n_sv = model.support_vectors_.shape[0]
    monkeypatch.setattr(scorers.fidelity, "SIZE_BUDGET", 75 * n_sv)  # 50, 60 and 75 rows fit, 100 not
    explainer = scorers.fit(model, train, eval_size=3)
    fidelity = explainer.manifest.fidelity
    assert fidelity is not None and fidelity.calibrated and explainer.scorer.name == "kernel_machine"
    assert "chosen among 50, 60, 75 rows" in fidelity.method
    stated = {}
    for rows in (50, 60, 75):
        one = scorers.fit(model, train, background_size=rows, summary="calibrated", eval_size=3)
        assert one.manifest.fidelity is not None and "chosen among" not in one.manifest.fidelity.method
        stated[rows] = one.manifest.fidelity.rel_mae_vs_full_data
    assert len(set(stated.values())) == 3  # the sizes do differ in error
    chosen = [50, 60, 75][cheapest_of_equals([stated[r] for r in (50, 60, 75)], [50, 60, 75])]
    assert len(explainer.background.weights) == chosen
    assert fidelity.rel_mae_vs_full_data == pytest.approx(stated[chosen], rel=1e-9)
    # and it holds on rows the model never saw, against every training row as background
    f = frame_model(model, "raw", as_array=True)
    truth = np.stack(
        [shapley_oracle(f, train, np.ones(N_TRAIN), held_out.iloc[[i]])[0][0] for i in range(N_HELD_OUT)]
    )
    served = explainer.explain(held_out).values
    measured = float(np.mean(np.abs(served - truth)) / np.mean(np.abs(truth)))
    stated_error = fidelity.rel_mae_vs_full_data
    assert measured / 2 - 0.003 <= stated_error <= 2 * measured + 0.003, (stated_error, measured)
