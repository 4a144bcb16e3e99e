"""Error bars against the brute-force oracle: each row's true distance to its full-data Shapley values
falls within the stated 2-sigma band (scorers.errorbars) on >= 90% of 30 held-out rows, and the band is
not a blanket (sigma within 2.5x of the true error on median), on two black boxes explained by
``kernel``, ``permutation`` on every training row and ``permutation`` on a sample of them."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scorer_support import frame_model, shapley_oracle

import scorers

N_TRAIN, N_HELD, M = 90, 30, 10
KINDS = {
    "kernel": {"scorer": "kernel", "n_coalitions": 120},
    "permutation": {"scorer": "permutation"},  # the background is every training row
    "permutation, sampled": {"scorer": "permutation", "background_size": 40},  # 40 of the 90
}


def _models() -> dict[str, tuple[Any, pd.DataFrame]]:
    from sklearn.datasets import make_classification, make_friedman1
    from sklearn.neural_network import MLPClassifier, MLPRegressor

    xc, yc = make_classification(N_TRAIN + N_HELD, M, n_informative=6, random_state=0)
    xr, yr = make_friedman1(N_TRAIN + N_HELD, M, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = MLPClassifier(hidden_layer_sizes=(16,), max_iter=800, random_state=0).fit(
            xc[:N_TRAIN], yc[:N_TRAIN]
        )
        reg = MLPRegressor(hidden_layer_sizes=(16,), max_iter=800, random_state=0).fit(
            xr[:N_TRAIN], yr[:N_TRAIN]
        )
    cols = [f"f{j}" for j in range(M)]
    return {
        "mlp classifier": (clf, pd.DataFrame(xc, columns=cols)),
        "mlp regressor": (reg, pd.DataFrame(xr, columns=cols)),
    }


@pytest.fixture(scope="module")
def cases() -> dict[str, Any]:
    out: dict[Any, Any] = {}
    truths: dict[tuple[str, str], np.ndarray] = {}
    for name, (model, x) in _models().items():
        train, held = x.iloc[:N_TRAIN], x.iloc[N_TRAIN:].reset_index(drop=True)
        for kind, kw in KINDS.items():
            explainer = scorers.fit(model, train, eval_size=10, **kw)
            space = explainer.output_space
            if (name, space) not in truths:  # full-data values (n, K, M)
                f = frame_model(model, space, as_array=True)
                truths[name, space] = shapley_oracle(f, train, np.ones(N_TRAIN), held)[0]
            out[name if kind == "kernel" else (name, kind)] = (explainer, held, truths[name, space])
    return out


def _row_error(values: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean((values - truth).reshape(len(values), -1) ** 2, axis=1))


@pytest.mark.parametrize("kind", list(KINDS))
@pytest.mark.parametrize("name", ["mlp classifier", "mlp regressor"])
def test_two_sigma_band_holds_the_true_error(cases: dict[str, Any], name: str, kind: str) -> None:
    explainer, held, truth = cases[name if kind == "kernel" else (name, kind)]
    assert explainer.manifest.scorer.kind == KINDS[kind]["scorer"]
    exp = explainer.explain(held)
    est = exp.error_estimate
    assert est is not None and est.rows.shape == (N_HELD,) and est.values.shape == exp.values.shape
    err = _row_error(exp.values, truth)
    assert np.mean(err <= 2 * est.rows) >= 0.9
    # and the band is informative, not a blanket: sigma within 2.5x of the row's true error on median
    # (before the calibration of issue 24 it was 1.6-1.9x on these models and 1.7-3.3x in the benchmark)
    assert np.median(est.rows / np.maximum(err, 1e-12)) < 2.5
    assert np.all(est.sampling > 0) and np.all(est.background >= 0)
    if kind != "kernel":  # its standard error counts its background sample: no stated part on top
        assert np.all(est.background == 0)


def test_sampling_part_bounds_the_design_error(cases: dict[str, Any]) -> None:
    """Against the oracle on the served background itself (no background part), the design's sampling
    standard error alone holds the estimate's error within 2 sigma for 9 rows in 10."""
    explainer, held, _ = cases["mlp regressor"]
    bg = explainer.background
    f = frame_model(_models()["mlp regressor"][0], explainer.output_space, as_array=True)
    on_bg = shapley_oracle(f, bg.raw, np.asarray(bg.weights), held)[0]
    values, _, se = explainer.scorer.shap_values_with_se(explainer.masking.encode(explainer.validate(held)))
    err = _row_error(values, on_bg)
    sigma = np.sqrt(np.mean(se.reshape(len(se), -1) ** 2, axis=1))
    assert np.mean(err <= 2 * sigma) >= 0.9


def test_max_error_refines_towards_the_oracle(cases: dict[str, Any]) -> None:
    explainer, held, truth = cases["mlp classifier"]
    first = explainer.explain(held)
    target = float(np.median(first.error_estimate.sampling))  # half the rows miss it on sampling alone
    refined = explainer.explain(held, max_error=target, max_error_seconds=60)
    assert refined.refinement is not None and refined.coalitions is not None
    assert set(refined.refinement) <= {"met", "background", "coalitions", "time"}
    for i, status in enumerate(refined.refinement):
        if status == "met":
            assert refined.error_estimate.rows[i] <= target
        if status == "background":
            assert refined.error_estimate.background[i] >= target
    grown = [i for i, c in enumerate(refined.coalitions) if c > explainer.scorer.n_coalitions]
    assert grown  # some rows were refined, and they moved towards the full-data values
    before = _row_error(first.values[grown], truth[grown]).mean()
    after = _row_error(refined.values[grown], truth[grown]).mean()
    assert after < before
    assert refined.additivity_error() < 1e-6


def test_a_row_s_estimate_is_its_own_so_slices_concatenate_to_the_whole(cases: dict[str, Any]) -> None:
    """What explain jobs rely on (they explain in slices and keep ``ErrorEstimate.arrays``): slices of
    rows, concatenated, give one call's estimate bit for bit."""
    explainer, held, _ = cases["mlp classifier"]
    whole = explainer.explain(held, error_estimate=True).error_estimate
    cuts = [0, 7, 19, len(held)]
    parts = [
        explainer.explain(held.iloc[a:b].reset_index(drop=True), error_estimate=True).error_estimate
        for a, b in zip(cuts, cuts[1:], strict=False)
    ]
    joined = scorers.errorbars.ErrorEstimate.concat(parts)
    assert set(joined.arrays()) == {"values", "rows", "sampling", "background"}
    for name, array in whole.arrays().items():
        assert np.array_equal(joined.arrays()[name], array), name
    assert np.all(whole.sampling > 0)  # a sampled kind: the test compares non-trivial estimates
