"""The brute-force Shapley oracle (tests/scorers/scorer_support.py) as the truth a served answer is
checked against, by name (a plain module every test folder imports: tests/ is on sys.path).

``truth`` computes exact interventional Shapley values of the model itself against the background rows
and weights the packaged artifact holds, in the output space the answer names; ``Truth.check`` maps an
answer's classes and features to the truth BY NAME (so a permuted feature axis or swapped classes
fail), and asserts the names and their order as well.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent / "scorers"))  # scorer_support: the oracle
from scorer_support import frame_model, shapley_oracle  # noqa: E402

TOL = 1e-9  # exact kinds (linear, tree, exact enumeration, kernel_machine) agree with the oracle to rounding


@dataclass(frozen=True)
class Truth:
    """The oracle's answer for some rows: ``phi`` (n, K, M), ``base`` (K,), ``outputs`` (n, K), with the
    feature names (M) and the class names (K, in the model's column order; None for a regressor)."""

    features: list[str]
    classes: list[str] | None
    output_space: str
    phi: np.ndarray
    base: np.ndarray
    outputs: np.ndarray

    def _index(self, features: list[str], classes: list[str] | None) -> tuple[list[int], list[int]]:
        """The truth's positions of an answer's classes and features (by name), after checking the names."""
        assert features == self.features, (features, self.features)
        assert classes == self.classes, (classes, self.classes)
        ki = [0] if classes is None else [self.classes.index(c) for c in classes]  # type: ignore[union-attr]
        return ki, [self.features.index(f) for f in features]

    def check(
        self,
        features: list[str],
        classes: list[str] | None,
        values: Any,
        expected: Any,
        outputs: Any,
        *,
        output_space: str | None = None,
        rows: list[int] | None = None,
    ) -> None:
        """An answer equals the truth to ``TOL``: ``values`` [n][K][M] ([n][M] for a regressor),
        ``expected`` [K] (a number), ``outputs`` [n][K] ([n]); ``rows`` picks the truth's rows."""
        if output_space is not None:
            assert output_space == self.output_space, (output_space, self.output_space)
        ki, ji = self._index(features, classes)
        pick = slice(None) if rows is None else rows
        n = self.phi[pick].shape[0]
        v = np.asarray(values, dtype=np.float64).reshape(n, len(ki), len(ji))
        np.testing.assert_allclose(v, self.phi[pick][:, ki][:, :, ji], rtol=0, atol=TOL)
        np.testing.assert_allclose(np.ravel(expected), self.base[ki], rtol=0, atol=TOL)
        out = np.asarray(outputs, dtype=np.float64).reshape(n, len(ki))
        np.testing.assert_allclose(out, self.outputs[pick][:, ki], rtol=0, atol=TOL)

    def value(self, row: int, klass: str | None, feature: str) -> float:
        """One truth value by names."""
        k = 0 if klass is None else self.classes.index(klass)  # type: ignore[union-attr]
        return float(self.phi[row, k, self.features.index(feature)])


def truth(
    model: Any,
    background: pd.DataFrame,
    weights: Any,
    rows: pd.DataFrame,
    output_space: str,
    classes: list[str] | None,
) -> Truth:
    """The oracle on ``rows`` (raw schema, the model's own columns) for ``model`` fed DataFrames, against
    ``background`` rows with ``weights``; ``classes`` names the model's output columns in its order."""
    f = frame_model(model, output_space, as_array=False)
    phi, base, outputs = shapley_oracle(f, background, np.asarray(weights, dtype=np.float64), rows)
    return Truth(list(background.columns), classes, output_space, phi, base, outputs)


def packaged_background(artifact: Path) -> tuple[pd.DataFrame, np.ndarray]:
    """The background rows and weights a packaged artifact serves with (read back from the artifact)."""
    import scorers

    bg = scorers.load(artifact).background
    return bg.raw, np.asarray(bg.weights, dtype=np.float64)
