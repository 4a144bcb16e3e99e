"""The statement rows' reference does no work it does not need, and gives the same bits (decision 59).

``reference.truth_at`` computes rows' truth with the truth scorer ``reference.build`` fitted on the pool:
it fits no scorer (no calibration scorer, no second truth scorer), and its values are those a fresh
``build`` gives, bit for bit.  Where the same-design values of ``tune._error_at`` evaluate the truth's
hybrids again, the model's outputs are replayed (``replay.Replay``): fewer model calls, the same bits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest

import scorers
from scorers.fidelity import reference
from scorers.fidelity.replay import Replay
from scorers.fidelity.tune import FidelityOptions, _rows
from scorers.kinds.base import Scorer


def _knn(n: int, m: int) -> tuple[Any, pd.DataFrame]:
    from sklearn.datasets import make_friedman1
    from sklearn.neighbors import KNeighborsRegressor

    x, y = make_friedman1(n_samples=n, n_features=m, random_state=0)
    return KNeighborsRegressor(5).fit(x, y), pd.DataFrame(x, columns=[f"f{i}" for i in range(m)])


def _packaged(
    n: int, m: int, kind: str
) -> tuple[scorers.ScoringExplainer, np.ndarray, tuple[np.ndarray, ...]]:
    model, train = _knn(n, m)
    explainer = scorers.fit(model, train, eval_size=5, scorer=kind)
    o = FidelityOptions()
    rows = _rows(n, 6, 8, 8, o.seed)
    return explainer, explainer.masking.encode(train), rows


def _counting(counts: dict[str, int], key: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        counts[key] += 1
        return fn(*args, **kwargs)

    return counted


@pytest.mark.parametrize("kind", ["exact", "kernel"])
def test_truth_at_fits_no_scorer_and_gives_a_builds_bits(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """5 features: the exact kind's truth is its own scorer; the kernel kind's is a full enumeration apart
    from its calibration design, which ``build`` fits and the statement rows never need."""
    explainer, encoded, (check, calib, state) = _packaged(60, 5, kind)
    served = explainer.scorer
    which = reference.templates(served)
    pool = np.arange(len(encoded))
    splits = reference.build(served, which, encoded, encoded[check], encoded[calib], pool)
    fresh = reference.build(served, which, encoded, encoded[state], encoded[state][:0], pool)
    counts = {"fit": 0}
    monkeypatch.setattr(Scorer, "fit", _counting(counts, "fit", Scorer.fit))
    stating = reference.truth_at(splits, encoded[state])
    assert counts["fit"] == 0
    assert stating.truth.tobytes() == fresh.truth.tobytes()
    assert stating.check is stating.truth and len(stating.calib) == 0
    assert np.array_equal(stating.pool, pool) and stating.exact == fresh.exact


def test_a_same_design_on_the_pool_replays_the_truths_model_outputs() -> None:
    """11 features: the truth is the 512-coalition calibration design (not exact).  A same-design scorer
    on the pool's rows after ``truth_at(record=True)`` calls the model only for what the truth did not
    evaluate, and its values are those of the same scorer without the replay, bit for bit."""
    explainer, encoded, (check, calib, state) = _packaged(40, 11, "kernel")
    served = explainer.scorer
    which = reference.templates(served)
    assert which.truth is which.calib and not which.exact
    pool = np.arange(len(encoded))
    splits = reference.build(served, which, encoded, encoded[check], encoded[calib], pool)
    counts = {"model": 0}
    splits.fn.fn = _counting(counts, "model", splits.fn.fn)
    x = encoded[state]
    stating = reference.truth_at(splits, x, record=True)
    truth_calls = counts["model"]
    replayed = reference.pool_scorer(served, encoded[pool], which.calib, fn=stating.fn).shap_values(x)[0]
    with_replay = counts["model"] - truth_calls
    splits.fn.forget()
    plain = reference.pool_scorer(served, encoded[pool], which.calib, fn=stating.fn).shap_values(x)[0]
    without = counts["model"] - truth_calls - with_replay
    assert replayed.tobytes() == plain.tobytes()
    assert with_replay <= without - len(x) and splits.fn.replayed >= len(x)


def test_replay_gives_each_recorded_output_once_and_forgets() -> None:
    calls: list[int] = []

    def model(h: np.ndarray) -> np.ndarray:
        calls.append(len(h))
        return h.sum(axis=1, keepdims=True)

    fn = Replay(model)
    a, b = np.arange(6.0).reshape(3, 2), np.ones((2, 2))
    assert len(fn(a)) == 3 and calls == [3]  # not recording: passed through
    fn.recording = True
    first = fn(a)
    fn.recording = False
    first[0, 0] = -1.0  # the caller's copy: what is replayed is the model's output
    again = fn(a)
    assert calls == [3, 3] and again.tobytes() == model(a).tobytes()
    assert len(fn(a)) == 3 and calls == [3, 3, 3, 3]  # given back once
    fn.recording = True
    fn(b)
    fn.forget()
    fn(b)
    assert calls[-1] == 2 and fn.replayed == 1 and not fn.recording
