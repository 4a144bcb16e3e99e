"""The stated error is measured on statement rows, training rows that chose nothing (decision 55).

The calibrated background and its size are chosen on the checked rows; stating the error on those same
rows states the winner's luck.  These tests check that the statement rows are apart from the checked
and the calibration rows, and that the stated figure is the rel. MAE on the statement rows against the
brute-force full-data values of the independent oracle (``scorer_support.shapley_oracle``), not the
figure of the checked rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scorer_support import frame_model, shapley_oracle

import scorers
from scorers.fidelity.tune import FidelityOptions, _rows

M = 5
N_TRAIN = 110  # above the exact kind's 100-row default: a calibrated background, not every row


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 12, 40, 63, 64, 65, 111, 112, 113, 455, 5000])
def test_statement_rows_are_apart_from_the_checked_and_calibration_rows(n: int) -> None:
    o = FidelityOptions()
    check, calib, state = _rows(n, o.n_check, o.n_calib, o.n_state, o.seed)
    chosen = np.concatenate([check, calib, state])
    assert len(np.unique(chosen)) == len(chosen), "the three sets overlap"
    assert chosen.min() >= 0 and chosen.max() < n
    assert len(check) >= 1
    assert len(state) == min(o.n_state, n // 4, n - len(check))
    # the checked and calibration rows are those drawn before the statement rows existed
    perm = np.random.default_rng(o.seed + 1).permutation(n)
    assert np.array_equal(check, np.sort(perm[: len(check)]))
    assert np.array_equal(calib, np.sort(perm[len(check) : len(check) + len(calib)]))


def _knn(n: int) -> tuple[object, pd.DataFrame]:
    from sklearn.datasets import make_friedman1
    from sklearn.neighbors import KNeighborsRegressor

    x, y = make_friedman1(n_samples=n, n_features=M, random_state=0)
    model = KNeighborsRegressor(5).fit(x, y)
    return model, pd.DataFrame(x, columns=[f"f{i}" for i in range(M)])


def _oracle_error(
    explainer: scorers.ScoringExplainer, model: object, train: pd.DataFrame, at: np.ndarray
) -> float:
    """rel. MAE of the served values at training rows ``at`` against brute force over every training row."""
    rows = train.iloc[at].reset_index(drop=True)
    f = frame_model(model, explainer.output_space, as_array=True)
    truth, _, _ = shapley_oracle(f, train, np.ones(len(train)), rows)
    served = explainer.explain(rows).values
    return float(np.mean(np.abs(served - truth)) / np.mean(np.abs(truth)))


@pytest.mark.parametrize("n", [N_TRAIN, N_TRAIN + 1])
def test_the_stated_error_is_the_oracle_error_on_the_statement_rows(n: int) -> None:
    """Packaged on N and on N + 1 training rows (the extra row differs from every other, and the draw of
    the rows changes with it): each states the oracle's error on its own statement rows, to 1e-9, and
    not the error of the checked rows that chose its background."""
    model, train = _knn(n)
    explainer = scorers.fit(model, train, eval_size=5)
    fidelity = explainer.manifest.fidelity
    assert fidelity is not None and explainer.manifest.scorer.kind == "exact"
    assert fidelity.calibrated and fidelity.reference_rows == n
    o = FidelityOptions()
    check, calib, state = _rows(n, o.n_check, o.n_calib, o.n_state, o.seed)
    assert fidelity.statement_rows == [int(i) for i in state] and fidelity.rows_checked == len(state)
    assert not set(state) & (set(check) | set(calib))
    assert "chose nothing" in fidelity.method
    on_statement = _oracle_error(explainer, model, train, state)
    on_checked = _oracle_error(explainer, model, train, check)
    assert fidelity.rel_mae_vs_full_data == pytest.approx(on_statement, rel=1e-9, abs=1e-12)
    assert fidelity.rel_mae_vs_full_data > 1e-4  # an error to tell apart
    # the checked rows' figure is another number: stating it would fail the equality above
    assert on_checked != pytest.approx(on_statement, rel=1e-6), (on_checked, on_statement)
