"""The ICE tab's grid of a number feature (``views.sweep``) against its brute-force definition: every
distinct value when there are at most ``points``, else ``points`` evenly spaced from the smallest value
to the largest (``np.unique`` of every value decides)."""

from __future__ import annotations

import numpy as np
import pytest

from service.dashboard.views import SWEEP_PREFIX, sweep


def oracle(values: np.ndarray, points: int) -> np.ndarray:
    unique = np.unique(values)
    return unique if unique.size <= points else np.linspace(unique[0], unique[-1], points)


rng = np.random.default_rng(0)
N = 3 * SWEEP_PREFIX
CASES = {
    "continuous": rng.normal(size=N),
    "few values": rng.integers(0, 7, N).astype(float),
    "few values, one more after the first": np.append(rng.integers(0, 7, N), [100]).astype(float),
    "few values, many more after the first": np.append(np.zeros(SWEEP_PREFIX), rng.normal(size=N)),
    "one value": np.full(N, 2.5),
    "short": rng.normal(size=5),
}


@pytest.mark.parametrize("name", CASES)
@pytest.mark.parametrize("points", [2, 7, 8, 20])
def test_the_sweep_is_what_every_values_distinct_ones_decide(name: str, points: int) -> None:
    values = CASES[name]
    np.testing.assert_array_equal(sweep(values, points), oracle(values, points))
