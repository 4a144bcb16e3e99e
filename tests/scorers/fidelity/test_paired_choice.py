"""The paired tie rule of a measured choice (scorers/fidelity/paired.py, decision 56): candidates measured
on the same checked rows are equals when their mean per-row error difference from the smallest is within
``TIE_SE`` paired standard errors (or ``tie`` x the smallest); the preferred key among equals wins.
Hand-computed cases, no model."""

from __future__ import annotations

import numpy as np

from scorers.fidelity.measure import rel_mae, rel_mae_rows
from scorers.fidelity.paired import TIE_SE, equals, preferred_of_equals


def test_a_difference_within_one_paired_standard_error_is_a_tie() -> None:
    best = np.array([0.10, 0.30, 0.10, 0.30])
    noisy = np.array([0.30, 0.12, 0.30, 0.12])  # mean 0.21 vs 0.20: d = (0.2, -0.18, 0.2, -0.18)
    d = noisy - best
    assert d.mean() <= TIE_SE * d.std(ddof=1) / 2  # 0.01 against 0.11
    assert equals([best, noisy]) == [0, 1]
    assert preferred_of_equals([best, noisy], keys=[4096, 0]) == 1  # the cheaper


def test_a_difference_past_one_paired_standard_error_is_not_a_tie() -> None:
    best = np.array([0.10, 0.20, 0.10, 0.20])
    worse = best + np.array([0.05, 0.01, 0.05, 0.01])  # mean d 0.03, s.e. 0.0115: 2.6 s.e.
    assert equals([best, worse]) == [0]
    assert equals([best, worse], tie=1.25) == [0, 1]  # 0.18 / 0.15 = 1.2: within a 1.25 relative tie


def test_a_consistent_difference_is_not_a_tie_however_small() -> None:
    best = np.array([0.100, 0.200, 0.300, 0.400])
    worse = best + np.array([0.010, 0.011, 0.010, 0.011])  # 3% worse, every row: s.e. 0.0003
    assert equals([best, worse]) == [0]
    assert preferred_of_equals([worse, best], keys=[0, 4096]) == 1


def test_errors_a_last_bit_apart_are_equals_through_the_relative_tie() -> None:
    best = np.array([0.1, 0.2, 0.3])
    bit = best * (1 + 1e-15)  # a constant difference has no spread: the paired test alone says "worse"
    assert equals([best, bit]) == [0]
    assert equals([best, bit], tie=1.05) == [0, 1]
    assert equals([bit, best], tie=1.05) == [0, 1]
    assert preferred_of_equals([best, bit], keys=[1, 0], tie=1.05) == 1


def test_one_row_has_no_standard_error() -> None:
    assert equals([np.array([0.2]), np.array([0.2]), np.array([0.3])]) == [0, 1]


def test_the_rows_shares_add_up_to_the_error() -> None:
    rng = np.random.default_rng(0)
    values, reference = rng.normal(size=(5, 2, 7)), rng.normal(size=(5, 2, 7))
    shares = rel_mae_rows(values, reference)
    assert shares.shape == (5,)
    np.testing.assert_allclose(shares.mean(), rel_mae(values, reference), rtol=1e-12)
