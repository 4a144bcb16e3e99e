"""The anchored kernel's secant estimator (scorers/kinds/anchor.py ``secant_slopes``, ``KernelScorer(
estimator="secant")``): each background row's exact margin values scaled by its secant slope, alone
(0 coalitions) or as a fixed control-variate coefficient over a design.

Checked against the brute-force oracle on games whose margin ``g`` has interactions: additive to 1e-6
whatever the link, exact when the target is a linear function of the margin (the secant alone), exact
when the design enumerates every coalition (consistent, whatever the slopes), and finite where a
background row's margin equals the row's (the guarded division).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scorer_support import shapley_oracle

import scorers
from scorers import spaces
from scorers.kinds.anchor import SECANT, secant_slopes
from scorers.kinds.base import FitContext
from scorers.kinds.design import DesignScorer
from scorers.kinds.exact import ExactScorer
from scorers.kinds.kernel import KernelScorer
from scorers.masking import IDENTITY, Game, Masking
from scorers.runtimes.base import REGRESSOR

M, NB = 6, 7
ALL_COALITIONS = 2**M - 2


def margin(h: np.ndarray) -> np.ndarray:
    """A margin with interactions (products and a sine): (n, M) -> (n, 1)."""
    return (h[:, 0] * h[:, 1] + np.sin(h[:, 2]) * h[:, 3] + 0.5 * h[:, 4] ** 2 - h[:, 5])[:, None]


LINKS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda g: 3.0 * g - 1.5,
    "sigmoid": lambda g: 1.0 / (1.0 + np.exp(-g)),
}


@functools.cache
def _data() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.normal(size=(NB + 4, M)), columns=[f"x{j}" for j in range(M)])
    return x.iloc[:NB].reset_index(drop=True), x.iloc[NB:].reset_index(drop=True)


def _context(fn: Callable[[np.ndarray], np.ndarray]) -> FitContext:
    """The game of ``fn`` against the background (equal weights), identity masking on M numeric columns."""
    names = list(_data()[0].columns)
    masking = Masking(IDENTITY, names, np.arange(M), names, lambda f: f.to_numpy(np.float64))
    game = Game(masking, fn, _data()[0].to_numpy(np.float64), np.ones(NB))
    return FitContext(masking, game, None, spaces.RAW, REGRESSOR, 1, IDENTITY)


def _anchored(link: str, n_coalitions: int, estimator: str | None = SECANT, seed: int = 0) -> KernelScorer:
    """A kernel scorer anchored on the exact (enumerated) margin game, the target ``link(margin)``."""

    def target(h: np.ndarray) -> np.ndarray:
        return LINKS[link](margin(h))

    def joint(h: np.ndarray) -> np.ndarray:
        return np.concatenate([target(h), margin(h)], axis=1)

    scorer = KernelScorer(n_coalitions=n_coalitions, seed=seed, anchor="exact:raw", estimator=estimator)
    scorer.ctx_ = _context(target)
    DesignScorer._fit(scorer, scorer.ctx_)
    exact = ExactScorer(max_features=M).fit(_context(margin))
    game = _context(joint).game
    scorer.anchor_ = (game, exact)
    scorer.joint_at_background_ = joint(game.background)
    return scorer


def _oracle(link: str, rows: pd.DataFrame) -> np.ndarray:
    bg, _ = _data()

    def f(frame: pd.DataFrame) -> np.ndarray:
        return LINKS[link](margin(frame.to_numpy(np.float64)))

    return shapley_oracle(f, bg, np.ones(NB), rows)[0]


def _explain(scorer: KernelScorer, rows: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return scorer.shap_values(rows.to_numpy(np.float64))


@pytest.mark.parametrize("link", list(LINKS))
@pytest.mark.parametrize("n_coalitions", [0, 12, 40])
def test_secant_values_are_additive(link: str, n_coalitions: int) -> None:
    scorer = _anchored(link, n_coalitions)
    values, outputs = _explain(scorer, _data()[1])
    base = scorer.ctx_.game.base
    np.testing.assert_allclose(values.sum(axis=-1) + base, outputs, atol=1e-6, rtol=0)
    assert (scorer.n_coalitions == 0) == (n_coalitions == 0)  # the design rounds to its pairs


@pytest.mark.parametrize("n_coalitions", [0, 12])
def test_the_secant_is_exact_when_the_target_is_linear_in_the_margin(n_coalitions: int) -> None:
    rows = _data()[1]
    values, _ = _explain(_anchored("linear", n_coalitions), rows)
    np.testing.assert_allclose(values, _oracle("linear", rows), atol=1e-9, rtol=0)


def test_the_secant_alone_is_not_exact_when_the_link_is_not_linear() -> None:
    # the test above could not pass by accident: with a curved link the secant alone has a bias
    rows = _data()[1]
    values, _ = _explain(_anchored("sigmoid", 0), rows)
    assert np.max(np.abs(values - _oracle("sigmoid", rows))) > 1e-4


@pytest.mark.parametrize("estimator", [SECANT, None])
def test_every_coalition_gives_the_oracle_whatever_the_slopes(estimator: str | None) -> None:
    rows = _data()[1]
    values, _ = _explain(_anchored("sigmoid", ALL_COALITIONS, estimator), rows)
    np.testing.assert_allclose(values, _oracle("sigmoid", rows), atol=1e-9, rtol=0)


def test_the_control_variate_is_closer_to_the_oracle_than_the_secant_alone() -> None:
    # its coalitions estimate the residual game f - s_b g, whose values the secant alone drops
    rows = _data()[1]
    truth = _oracle("sigmoid", rows)
    alone = np.mean(np.abs(_explain(_anchored("sigmoid", 0), rows)[0] - truth))
    sampled = [np.mean(np.abs(_explain(_anchored("sigmoid", 40, seed=s), rows)[0] - truth)) for s in range(4)]
    assert float(np.mean(sampled)) < alone, (sampled, alone)


def test_a_background_row_with_the_rows_margin_is_guarded() -> None:
    # x equal to background row 2 (g(x) == g(b), f(x) == f(b)), and a row whose margin equals row 4's
    # while its features differ (x5 moved to keep g): no division by zero, finite, additive
    bg, rows = _data()
    same = bg.iloc[[2]].reset_index(drop=True)
    moved = bg.iloc[[4]].reset_index(drop=True).copy()
    moved.loc[0, "x0"] += 1.0
    moved.loc[0, "x5"] += float(moved.loc[0, "x1"])  # x0 x1 grew by x1, and so does x5: same margin
    for row in (same, moved):
        for n_coalitions in (0, 12):
            scorer = _anchored("sigmoid", n_coalitions)
            with np.errstate(all="raise"):
                values, outputs = _explain(scorer, row)
            assert np.all(np.isfinite(values))
            np.testing.assert_allclose(values.sum(axis=-1) + scorer.ctx_.game.base, outputs, atol=1e-6)


def test_secant_slopes_divide_where_they_can_and_pool_where_they_cannot() -> None:
    df = np.array([[2.0], [-3.0], [0.0], [0.5]])
    dg = np.array([[1.0], [-1.0], [0.0], [1e-13]])
    with np.errstate(all="raise"):
        s = secant_slopes(df, dg)
    pooled = (2.0 * 1.0 + 3.0 * 1.0) / 2.0
    np.testing.assert_allclose(s[:, 0], [2.0, 3.0, pooled, pooled])
    assert np.all(secant_slopes(df, np.zeros_like(dg)) == 0.0)


def test_the_estimator_is_refused_without_an_anchor_and_0_coalitions_without_the_secant() -> None:
    with pytest.raises(ValueError, match="estimator"):
        KernelScorer(n_coalitions=64, estimator=SECANT)
    with pytest.raises(ValueError, match="estimator"):
        KernelScorer(n_coalitions=64, anchor="exact:raw", estimator="median")
    with pytest.raises(ValueError, match="n_coalitions"):
        KernelScorer(n_coalitions=0, anchor="exact:raw")


def test_the_secant_alone_on_a_real_svc_is_additive_and_replays_from_its_saved_state(tmp_path: Path) -> None:
    # the real anchor (kernel_machine on an SVC's margin), the state saved as the artifact saves arrays
    from sklearn.svm import SVC

    from scorers.manifest import KernelParams

    bg, rows = _data()
    y = (margin(bg.to_numpy())[:, 0] > np.median(margin(bg.to_numpy()))).astype(int)
    train = pd.concat([bg, bg + 0.3], ignore_index=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # probability=True, deprecated in scikit-learn 1.9
        model = SVC(probability=True, random_state=0).fit(train.to_numpy(), np.concatenate([y, y]))
    exp = scorers.fit(
        model,
        train,
        scorer="kernel",
        output_space="probability",
        n_coalitions=32,
        background_size=6,
        calibrate=False,
        eval_size=2,
    )
    ctx = exp.scorer._check_fitted()
    secant = KernelScorer(0, anchor=exp.scorer.params["anchor"], estimator=SECANT).fit(ctx)
    assert KernelParams.model_validate(secant.params).estimator == SECANT
    x = exp.masking.encode(exp.validate(rows))
    values, outputs = secant.shap_values(x)
    np.testing.assert_allclose(values.sum(axis=-1) + ctx.game.base, outputs, atol=1e-6, rtol=0)
    np.savez(tmp_path / "state.npz", **secant.state())
    with np.load(tmp_path / "state.npz") as saved:
        back = KernelScorer(**secant.params).set_state(ctx, dict(saved))
    np.testing.assert_array_equal(back.shap_values(x)[0], values)
