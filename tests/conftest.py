"""Shared pytest fixtures (small and fast).

The scorer tests' helpers (the brute-force Shapley oracle, data sets, models and the table of cases)
live in tests/scorers/scorer_support.py, a plain module the test modules import.
"""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A seeded generator, fresh for every test."""
    return np.random.default_rng(0)
