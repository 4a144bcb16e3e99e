"""The same model and data package the same explainer, whatever the clock or the last bit (issues 23/24).

- The coalition runtime is chosen by wall time (``scorers.runtimes.coalitions._preferred``); the
  reference, the calibration and so the background and the stated error are computed with the model's
  own runtime output (decision 52), so forcing the choice each way packages the same background rows
  and weights and states the same error (to the runtimes' rounding).
- A measured choice among candidates (``tune.cheapest_of_equals``: the calibrated size) takes the
  cheapest within ``TIE`` of the smallest error, so errors one bit apart choose alike; the anchored
  split's paired test counts ``TIE`` as a tie too (``paired.equals``, tests/scorers/fidelity/test_paired_choice.py).
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest

import scorers
from scorers.fidelity.tune import TIE, cheapest_of_equals
from scorers.runtimes import coalitions

N_TRAIN, M = 60, 5


@functools.cache
def _case() -> tuple[Any, pd.DataFrame]:
    from sklearn.datasets import make_friedman1
    from sklearn.neural_network import MLPRegressor

    x, y = make_friedman1(n_samples=N_TRAIN, n_features=M, random_state=3)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(x, y)
    return model, pd.DataFrame(x, columns=[f"f{i}" for i in range(M)])


def _packaged_with(runtime: str, monkeypatch: pytest.MonkeyPatch) -> scorers.ScoringExplainer:
    model, frame = _case()
    with monkeypatch.context() as patch:
        patch.setattr(coalitions, "_preferred", lambda times, preference: runtime)
        return scorers.fit(
            model,
            frame,
            scorer="kernel",
            background_size=8,
            summary="calibrated",
            n_coalitions=12,
            eval_size=3,
        )


def test_the_coalition_runtime_changes_nothing_but_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    onnx = _packaged_with(coalitions.ONNX_EXPORT, monkeypatch)
    native = _packaged_with("sklearn", monkeypatch)
    assert onnx.manifest.model.coalition_runtime == coalitions.ONNX_EXPORT
    assert native.manifest.model.coalition_runtime == "sklearn"
    assert onnx.background.method == native.background.method == "calibrated"
    np.testing.assert_array_equal(onnx.background.encoded, native.background.encoded)
    np.testing.assert_array_equal(onnx.background.weights, native.background.weights)
    a, b = onnx.manifest.fidelity, native.manifest.fidelity
    assert a is not None and b is not None and a.rel_mae_vs_full_data > 0
    assert a.rel_mae_vs_full_data == pytest.approx(b.rel_mae_vs_full_data, rel=1e-6)
    # and the served values differ only by the runtimes' rounding (onnx_tolerance)
    rows = _case()[1].iloc[:4]
    np.testing.assert_allclose(onnx.explain(rows).values, native.explain(rows).values, atol=1e-9)


def test_the_fewest_rows_within_the_tie_are_chosen() -> None:
    sizes = [50, 60, 75]
    assert cheapest_of_equals([0.0200, 0.0114, 0.0110], sizes) == 1  # 60: within 1.05x of 75's error
    assert cheapest_of_equals([0.0200, 0.0120, 0.0110], sizes) == 2  # 60 is 1.09x: 75 is better
    assert cheapest_of_equals([0.0, 0.0, 0.0], sizes) == 0
    assert cheapest_of_equals([0.03, 0.02, 0.02 / TIE], sizes) == 1  # the tie's edge counts as a tie


@pytest.mark.parametrize("which", [1, 2])
@pytest.mark.parametrize("scale", [1 + 1e-15, 1 - 1e-15])
def test_a_last_bit_does_not_change_the_size(which: int, scale: float) -> None:
    """Two sizes with one error (the seed's SVC had 60 and 75 calibrated rows 1e-15 apart): a plain
    minimum takes whichever the last bit favours, the rule the fewest rows either way."""
    sizes = [50, 60, 75]
    errors = [0.0201, 0.01137, 0.01137]
    assert cheapest_of_equals(errors, sizes) == 1
    nudged = [e * scale if i == which else e for i, e in enumerate(errors)]
    assert cheapest_of_equals(nudged, sizes) == 1
