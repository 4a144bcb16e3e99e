"""shapserve scoring explainers: fit once at packaging time, explain fast at serving time.

>>> import scorers
>>> explainer = scorers.fit(model, training_rows)          # doctest: +SKIP
>>> explainer.explain(rows).local_importance_values        # doctest: +SKIP
>>> explainer.save("artifact/"); scorers.load("artifact/") # doctest: +SKIP
>>> scorers.evaluate(explainer, "test.csv", target="y", kinds=["shap", "pfi", "mimic"])  # doctest: +SKIP

The seed's (Azure ML / interpret-community) names are in :mod:`scorers.interpret`.

The engine is plain Python + numpy + scikit-learn + onnxruntime: no BentoML, no web, no database.
"""

from __future__ import annotations

from pathlib import Path

from .errors import (
    ArtifactError,
    ExplanationCancelled,
    InputError,
    MissingFeatureError,
    NotFittedError,
    ShapserveError,
    UnknownFeatureError,
    UnsupportedModelError,
    UnsupportedOperationError,
    UntrustedModelError,
    WrongTypeError,
    WrongWidthError,
)
from .evaluation import evaluate
from .explanation_objects import Explanation, GlobalExplanation
from .fit import fit
from .kinds import REGISTRY
from .manifest import Manifest
from .scoring_explainer import ScoringExplainer
from .tables import read_table

__version__ = "0.1.0"


def load(
    directory: str | Path, *, trust_pickle: bool = False, expected_sha256: str | None = None
) -> ScoringExplainer:
    """Load an artifact directory, verifying its checksums and schema version."""
    from .restore import load as _load

    return _load(directory, trust_pickle=trust_pickle, expected_sha256=expected_sha256)


__all__ = [
    "REGISTRY",
    "ArtifactError",
    "Explanation",
    "ExplanationCancelled",
    "GlobalExplanation",
    "InputError",
    "Manifest",
    "MissingFeatureError",
    "NotFittedError",
    "ScoringExplainer",
    "ShapserveError",
    "UnknownFeatureError",
    "UnsupportedModelError",
    "UnsupportedOperationError",
    "UntrustedModelError",
    "WrongTypeError",
    "WrongWidthError",
    "evaluate",
    "fit",
    "load",
    "read_table",
]
