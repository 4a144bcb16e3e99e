"""shapserve scoring explainers: fit once at packaging time, explain fast at serving time.

>>> import scorers
>>> explainer = scorers.fit(model, training_rows)          # doctest: +SKIP
>>> explainer.explain(rows).local_importance_values        # doctest: +SKIP
>>> explainer.save("artifact/"); scorers.load("artifact/") # doctest: +SKIP
"""

from __future__ import annotations

from . import design, kernel_machine, linear, tree  # noqa: F401  (register the scorers)
from .base import REGISTRY
from .errors import (
    ArtifactError,
    InputError,
    MissingFeatureError,
    NotFittedError,
    ShapserveError,
    UnknownFeatureError,
    UnsupportedModelError,
    UntrustedModelError,
    WrongTypeError,
    WrongWidthError,
)
from .explainer import ScoringExplainer, fit, read_table
from .explanation import Explanation, GlobalExplanation

__version__ = "0.1.0"


def load(directory, *, trust_pickle: bool = False, expected_sha256: str | None = None) -> ScoringExplainer:  # type: ignore[no-untyped-def]
    """Load an artifact directory, verifying its checksums and schema version."""
    from .artifact import load as _load

    return _load(directory, trust_pickle=trust_pickle, expected_sha256=expected_sha256)


__all__ = [
    "REGISTRY",
    "ArtifactError",
    "Explanation",
    "GlobalExplanation",
    "InputError",
    "MissingFeatureError",
    "NotFittedError",
    "ScoringExplainer",
    "ShapserveError",
    "UnknownFeatureError",
    "UnsupportedModelError",
    "UntrustedModelError",
    "WrongTypeError",
    "WrongWidthError",
    "fit",
    "load",
    "read_table",
]
