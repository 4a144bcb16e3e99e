"""The kernel_machine scorer's fast path (blocks of pairs, pruning, prefix/suffix products) against the
brute-force oracle (tests/scorers/scorer_support.py), with blocks small enough that every row spans many.
These tests run the numpy path (the reference of the fused numba loop, which
tests/scorers/kinds/test_kernel_machine_numba.py holds to it and to the oracle).

The model is an RBF SVC whose gamma makes some (background row, support vector) pairs negligible (so the
pruning drops pairs) and others not, on rows that share values with the background (factors a == c)
and on rows far from it (factors that underflow).
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd
import pytest
from scorer_support import dataset, model_output, shapley_oracle

import scorers
from scorers.kinds import kernel_machine
from scorers.kinds.kernel_machine import PRUNE_TOL, _kept_pairs, _Plan

TOL = 1e-10  # PRUNE_TOL (1e-11) for the pairs pruned, and again for the passive tail


@functools.cache
def _fitted() -> tuple[object, pd.DataFrame, object]:
    from sklearn.svm import SVC

    x, y = dataset("binary")
    model = SVC(gamma=2.0, C=10.0).fit(x, y)
    explainer = scorers.fit(model, x, background_size=15, summary="kmeans", eval_size=5)
    assert explainer.scorer.name == "kernel_machine"
    return model, x, explainer


@functools.cache
def _fitted_small_scale() -> tuple[object, pd.DataFrame, object]:
    """Eight of twelve features on a scale far below 1/sqrt(gamma): passive players (a/c near 1)."""
    from sklearn.svm import SVC

    x, y = dataset("wide12")
    x = x * np.array([1.0] * 4 + [0.002, 0.001, 0.0005, 0.0015, 0.001, 0.0003, 0.001, 0.0008])
    model = SVC(gamma=0.3, C=10.0).fit(x, y)
    explainer = scorers.fit(model, x, background_size=6, summary="kmeans", eval_size=5)
    return model, x, explainer


@pytest.fixture(autouse=True)
def _numpy_path(monkeypatch: pytest.MonkeyPatch) -> None:
    for fitted in (_fitted, _fitted_small_scale):
        monkeypatch.setattr(fitted()[2].scorer, "kernel_", None)  # type: ignore[attr-defined]


def _oracle(model: object, bg: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    phi, _, _ = shapley_oracle(lambda f: model_output(model, f, "raw"), bg, weights, rows)
    return phi


def _rows(x: pd.DataFrame, background: pd.DataFrame) -> pd.DataFrame:
    near = background.iloc[[0]].copy()
    near.iloc[0, 1] += 0.3  # shares every other value with a background row: a_k == c_k there
    far = x.iloc[[0]] + 6.0  # far from every support vector: factors underflow, pairs pruned
    return pd.concat([x.iloc[[3, 7]], near, far], ignore_index=True)


@pytest.mark.parametrize("block", [1, 3, 64])
def test_blocked_values_match_the_oracle(monkeypatch: pytest.MonkeyPatch, block: int) -> None:
    monkeypatch.setattr(kernel_machine, "PAIR_BLOCK", block)
    model, x, explainer = _fitted()
    bg = explainer.background
    rows = _rows(x, bg.raw)
    phi = _oracle(model, bg.raw, np.asarray(bg.weights), rows)
    values = explainer.explain(rows).values
    np.testing.assert_allclose(values, phi, rtol=0, atol=TOL)
    assert np.max(np.abs(phi)) > 1e3 * TOL


def test_some_pairs_are_pruned_and_none_that_matter() -> None:
    """The far row keeps fewer pairs than a near one, yet still equals the oracle (test above)."""
    model, x, explainer = _fitted()
    sc = explainer.scorer
    rows = _rows(x, explainer.background.raw).to_numpy()
    kept = [len(_kept(explainer, rows[r : r + 1])[0]) for r in (0, 3)]
    assert kept[1] < kept[0] <= sc.log_c_.shape[0] * sc.log_c_.shape[1]


def test_row_n_plus_one_differs_from_the_first_n() -> None:
    """N equal rows and a different one in one call: each row's values are the ones it gets alone."""
    model, x, explainer = _fitted()
    rows = pd.concat([x.iloc[[5]]] * 4 + [x.iloc[[9]]], ignore_index=True)
    together = explainer.explain(rows).values
    phi = _oracle(
        model, explainer.background.raw, np.asarray(explainer.background.weights), rows.iloc[[0, 4]]
    )
    np.testing.assert_allclose(together[[0, 4]], phi, rtol=0, atol=TOL)
    for i in range(len(rows)):
        np.testing.assert_array_equal(together[i], explainer.explain(rows.iloc[[i]]).values[0])
    assert np.max(np.abs(together[4] - together[0])) > 1e-3


def test_background_split_matches_the_oracle_per_background_row(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kernel_machine, "PAIR_BLOCK", 5)
    model, x, explainer = _fitted()
    bg = explainer.background
    row = x.iloc[[11]]
    split = explainer.scorer.background_split(row.to_numpy())  # (nb, K, M), unweighted
    for b in (0, 4, len(bg.raw) - 1):
        phi = _oracle(model, bg.raw.iloc[[b]].reset_index(drop=True), np.ones(1), row)
        np.testing.assert_allclose(split[b], phi[0], rtol=0, atol=TOL)
    weighted = np.einsum("b,bkm->km", np.asarray(bg.weights), split)
    np.testing.assert_allclose(weighted, explainer.explain(row).values[0], rtol=0, atol=TOL)


def test_kept_pairs_drop_under_the_tolerance_in_total() -> None:
    rng = np.random.default_rng(0)
    # mostly negligible bounds: all of them go at once
    bound = np.concatenate([rng.uniform(0, 1e-30, 50), rng.uniform(0.1, 1.0, 10)])
    idx = _kept_pairs(bound)
    assert len(idx) == 10 and np.all(bound[idx] >= 0.1)
    # many bounds just under the tolerance: their sum is not, so only the smallest go
    bound = np.full(100, 0.5 * PRUNE_TOL)
    bound[:5] = 1.0
    kept = np.zeros(bound.shape, dtype=bool)
    kept[_kept_pairs(bound)] = True
    assert bound[~kept].sum() < PRUNE_TOL and kept[:5].all() and kept.sum() < bound.size


def _kept(explainer: object, row: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The scorer's kept pairs for one row (1, d), as its ``_values`` asks for them."""
    sc = explainer.scorer  # type: ignore[attr-defined]
    log_scale = np.log(np.abs(explainer.background.weights[:, None] * sc.alpha_[None, :]))  # type: ignore[attr-defined]
    return sc._kept(np.ascontiguousarray(sc._log_factors(row)[0].T), log_scale.reshape(-1))


def _plan(explainer: object, row: np.ndarray) -> _Plan:
    _, log_c, log_a, bound_sum = _kept(explainer, row)
    return _Plan.of(_Plan.spread(log_a - log_c), bound_sum)


@pytest.mark.parametrize(("passive", "block"), [(1e-3, 8192), (1e-3, 2), (0.05, 3)])
def test_passive_players_match_the_oracle(
    monkeypatch: pytest.MonkeyPatch, passive: float, block: int
) -> None:
    """Fewer nodes and a truncated polynomial for the passive players, still the oracle's values; a
    looser PASSIVE makes more players passive and the kept degree higher."""
    monkeypatch.setattr(kernel_machine, "PASSIVE", passive)
    monkeypatch.setattr(kernel_machine, "PAIR_BLOCK", block)
    model, x, explainer = _fitted_small_scale()
    bg = explainer.background
    rows = pd.concat([x.iloc[[3, 7]], bg.raw.iloc[[2]]], ignore_index=True)
    plan = _plan(explainer, rows.to_numpy()[:1])
    assert len(plan.passive) >= 4 and len(plan.active) >= 1 and plan.nodes < 6  # ceil(12/2) without it
    phi = _oracle(model, bg.raw, np.asarray(bg.weights), rows)
    np.testing.assert_allclose(explainer.explain(rows).values, phi, rtol=0, atol=TOL)
    assert np.max(np.abs(phi[..., 4:])) > 1e3 * TOL  # the passive players' values are not negligible
    split = explainer.scorer.background_split(rows.to_numpy()[:1])
    phi_b = _oracle(model, bg.raw.iloc[[1]].reset_index(drop=True), np.ones(1), rows.iloc[[0]])
    np.testing.assert_allclose(split[1], phi_b[0], rtol=0, atol=TOL)


def test_the_screened_bound_holds_and_is_tight_at_a_support_vector() -> None:
    """The screen's bound (three players' log factors) is at least every pair's full bound; at a row equal
    to a support vector every pair of that vector has both equal to |w alpha| (all its factors a = 1),
    and the row's values are still the oracle's."""
    model, x, explainer = _fitted_small_scale()
    sc = explainer.scorer
    bg = explainer.background
    log_scale = np.log(np.abs(bg.weights[:, None] * sc.alpha_[None, :])).reshape(-1)
    i = int(np.argmax(np.abs(sc.alpha_)))
    at_sv = pd.DataFrame(sc.support_[[i]], columns=x.columns)
    for row in (x.iloc[[3]].to_numpy(), at_sv.to_numpy()):
        log_a = np.ascontiguousarray(sc._log_factors(row)[0].T)
        full = log_scale + np.maximum(np.tile(log_a, len(bg.weights)), sc.log_c_t_).sum(axis=0)
        screened = sc._screened(log_a, log_scale)
        assert np.all(screened >= full - 1e-12)
    ties = np.arange(len(bg.weights)) * sc.alpha_.shape[0] + i  # pairs (b, i)
    np.testing.assert_allclose(screened[ties], log_scale[ties], rtol=0, atol=1e-12)
    np.testing.assert_allclose(full[ties], log_scale[ties], rtol=0, atol=1e-12)
    assert len(sc.screen_) == 3 and np.any(screened > full + 1.0)  # elsewhere the screen is looser
    phi = _oracle(model, bg.raw, np.asarray(bg.weights), at_sv)
    np.testing.assert_allclose(explainer.explain(at_sv).values, phi, rtol=0, atol=TOL)


@pytest.mark.parametrize("tol", [1e-3, 1e-2])
def test_a_loose_tolerance_prunes_within_its_stated_bound(
    monkeypatch: pytest.MonkeyPatch, tol: float
) -> None:
    """With PRUNE_TOL raised until the screen and the bounds drop pairs that matter, the values move
    from the oracle's by something (the shortcut is taken) but never by more than the certified 2 x
    PRUNE_TOL (pruning plus the passive tail)."""
    model, x, explainer = _fitted()
    bg = explainer.background
    rows = _rows(x, bg.raw)
    phi = _oracle(model, bg.raw, np.asarray(bg.weights), rows)
    monkeypatch.setattr(kernel_machine, "PRUNE_TOL", tol)
    values = explainer.explain(rows).values
    gap = np.max(np.abs(values - phi))
    assert 1e3 * TOL < gap <= 2 * tol, gap
