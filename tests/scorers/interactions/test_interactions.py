"""Pairwise Shapley interaction values (scorers.interactions) against the brute-force oracle."""

from __future__ import annotations

import numpy as np
import pytest

from scorers.interactions import enumeration, sampling, tree
from tests.scorers import scorer_support as support
from tests.scorers.interaction_oracle import interaction_oracle_for

EXACT = {
    "linear-logistic-binary": "linear",
    "linear-logistic-multiclass": "linear",
    "linear-ridge-weighted-background": "linear",
    "pipeline-linear": "linear",
    "tree-forest": "tree",
    "tree-forest-weighted-background": "tree",
    "tree-gb-regressor": "tree",
    "tree-gb-classifier": "tree",
    "pipeline-tree": "tree",
    "kernel_machine-svc": "kernel_machine",
    "kernel_machine-svr": "kernel_machine",
    "kernel_machine-kernel-ridge": "kernel_machine",
    "exact-mlp": "enumeration",
    "exact-logistic-multiclass-probability": "enumeration",
    "pipeline-exact": "enumeration",
}


def _oracle(name: str, rows: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    case = support.CASES[name]
    model = support.fitted_model(case.model, case.data)
    return interaction_oracle_for(support.fitted_explainer(name), model, rows, as_array=case.as_array)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_exact_paths_equal_the_oracle(name: str) -> None:
    explainer = support.fitted_explainer(name)
    rows = support.held_out_rows(name, 4)
    got = explainer.interactions(rows)
    assert (got.method, got.exact, got.errors) == (EXACT[name], True, None)
    matrix, sii, _ = _oracle(name, rows)
    np.testing.assert_allclose(got.values, matrix, rtol=0, atol=1e-9)
    np.testing.assert_array_equal(got.values, np.swapaxes(got.values, -1, -2))
    # rows sum to the served SHAP values, the matrix to the output less the base value
    served = explainer.explain(rows)
    np.testing.assert_allclose(got.values.sum(axis=-1), served.values, rtol=0, atol=1e-9)
    total = got.base_values[None, :] + got.values.sum(axis=(-1, -2))
    np.testing.assert_allclose(total, served.outputs, rtol=0, atol=1e-6)
    if EXACT[name] == "linear":
        off = ~np.eye(len(got.features), dtype=bool)
        assert not got.values[..., off].any()  # exactly zero, and said so
        assert "no interactions" in got.note
    else:
        assert np.abs(sii).max() > 1e-3  # the models do interact: the comparison above means something


@pytest.mark.parametrize("name", ["tree-gb-classifier", "kernel_machine-svc", "exact-mlp"])
def test_a_rows_values_do_not_depend_on_its_batch(name: str) -> None:
    explainer = support.fitted_explainer(name)
    rows = support.held_out_rows(name, 5)
    together = explainer.interactions(rows).values
    for i in range(len(rows)):
        np.testing.assert_array_equal(explainer.interactions(rows.iloc[i : i + 1]).values[0], together[i])


def test_a_tree_whose_pair_table_is_too_large_is_enumerated(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "tree-gb-regressor"
    monkeypatch.setattr(tree, "MAX_ENTRIES", 0)
    rows = support.held_out_rows(name, 3)
    got = support.fitted_explainer(name).interactions(rows)
    assert (got.method, got.exact) == ("enumeration", True)
    np.testing.assert_allclose(got.values, _oracle(name, rows)[0], rtol=0, atol=1e-9)


def test_sampling_is_within_its_stated_error(monkeypatch: pytest.MonkeyPatch) -> None:
    name = "kernel-mlp-wide"  # 12 features: the oracle still enumerates, the estimator is forced
    monkeypatch.setattr(enumeration, "MAX_PLAYERS", 11)
    rows = support.held_out_rows(name, 3)
    explainer = support.fitted_explainer(name)
    got = explainer.interactions(rows)
    assert (got.method, got.exact) == ("sampling", False)
    assert got.errors is not None and "standard error" in got.note
    _, sii, _ = _oracle(name, rows)
    iu, ju = np.triu_indices(len(got.features), k=1)
    error = np.abs(2 * got.values - sii)[..., iu, ju]
    stated = 2 * got.errors[..., iu, ju]  # the SII's standard error (the served cell is SII / 2)
    assert np.abs(sii).max() > 0.05
    assert np.mean(error <= 2 * stated) >= 0.9  # about 95% for a normal estimate
    assert np.all(error <= 4 * stated)
    # the estimate changes only the split: rows still sum to the served SHAP values
    np.testing.assert_allclose(got.values.sum(axis=-1), explainer.explain(rows).values, rtol=0, atol=1e-9)
    # a standard error shrinks as the draws grow: more draws, closer to the oracle
    x = explainer.masking.encode(explainer.validate(rows))
    more = sampling.pair_index(explainer.scorer.ctx_.game, x, per_node=32)
    assert np.abs(more.sii - sii).max() < np.abs(2 * got.values - sii)[..., iu, ju].max()


@pytest.mark.parametrize("name", ["tree-gb-classifier", "kernel_machine-svc", "exact-mlp"])
def test_cancellable_interactions_are_sliced_and_stop_when_asked(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As /explain's token: asked between slices of rows; the slicing changes no value, and a set token
    stops the work with ExplanationCancelled before the remaining slices are computed."""
    import scorers
    from scorers import scoring_explainer as explainer_module

    explainer = support.fitted_explainer(name)
    rows = explainer.validate(support.held_out_rows(name, 9))
    whole = explainer.interactions_frame(rows)
    monkeypatch.setattr(explainer_module, "_SLICE_SECONDS", 0.0)  # the smallest slices
    asked: list[int] = []
    sliced = explainer.interactions_frame(rows, cancel=lambda: bool(asked.append(1)))
    assert len(asked) > 1
    np.testing.assert_array_equal(sliced.values, whole.values)
    np.testing.assert_array_equal(sliced.shap_values, whole.shap_values)
    assert (sliced.method, sliced.exact) == (whole.method, whole.exact)
    calls: list[int] = []
    real = explainer.scorer.shap_values
    monkeypatch.setattr(explainer.scorer, "shap_values", lambda x: calls.append(len(x)) or real(x))
    with pytest.raises(scorers.ExplanationCancelled):
        explainer.interactions_frame(rows, cancel=lambda: len(calls) >= 1)
    assert calls and sum(calls) < len(rows)  # stopped after the first slice


def test_sampled_interactions_keep_their_errors_when_sliced(monkeypatch: pytest.MonkeyPatch) -> None:
    from scorers import scoring_explainer as explainer_module

    name = "kernel-mlp-wide"
    monkeypatch.setattr(enumeration, "MAX_PLAYERS", 11)
    explainer = support.fitted_explainer(name)
    rows = explainer.validate(support.held_out_rows(name, 3))
    whole = explainer.interactions_frame(rows)
    monkeypatch.setattr(explainer_module, "_SLICE_SECONDS", 0.0)
    sliced = explainer.interactions_frame(rows, cancel=lambda: False)
    assert (sliced.method, sliced.exact) == ("sampling", False)
    assert whole.errors is not None and sliced.errors is not None
    np.testing.assert_array_equal(sliced.values, whole.values)
    np.testing.assert_array_equal(sliced.errors, whole.errors)
