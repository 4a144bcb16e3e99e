"""The seed's names (Azure ML's ``azureml-interpret`` / interpret-community), on shapserve's engine.

Replace the seed's imports and keep the code::

    from interpret.ext.blackbox import TabularExplainer        ->  from scorers.interpret import TabularExplainer
    from interpret.ext.glassbox import LGBMExplainableModel     ->  from scorers.interpret import LGBMExplainableModel
    from azureml.interpret.scoring.scoring_explainer import KernelScoringExplainer, save, load
                                                                ->  from scorers.interpret import ...
    from sklearn_pandas import DataFrameMapper                  ->  from scorers.interpret import DataFrameMapper

``docs/migration.md`` shows each seed snippet beside its shapserve version, and what differs.
``ExplanationClient`` comes from the explanation store (``store``) when it is installed.
"""

from __future__ import annotations

from typing import Any

from ..explanation import GlobalExplanation
from ..globals.surrogates import (
    DecisionTreeExplainableModel,
    ExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    SGDExplainableModel,
)
from ..transformations import DataFrameMapper
from .explainers import MimicExplainer, PFIExplainer, TabularExplainer
from .explanations import LocalExplanation
from .scoring import (
    BaseScoringExplainer,
    KernelScoringExplainer,
    LinearScoringExplainer,
    TreeScoringExplainer,
    load,
    save,
)


def __getattr__(name: str) -> Any:
    # the store sits above the engine: imported only when asked for, and only if it is installed
    if name == "ExplanationClient":
        try:
            from store import ExplanationClient  # type: ignore[import-not-found]
        except ImportError as exc:
            raise ImportError(
                "ExplanationClient comes from shapserve's explanation store (the 'store' package), "
                "which is not installed here"
            ) from exc
        return ExplanationClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BaseScoringExplainer",
    "DataFrameMapper",
    "DecisionTreeExplainableModel",
    "ExplainableModel",
    "GlobalExplanation",
    "KernelScoringExplainer",
    "LGBMExplainableModel",
    "LinearExplainableModel",
    "LinearScoringExplainer",
    "LocalExplanation",
    "MimicExplainer",
    "PFIExplainer",
    "SGDExplainableModel",
    "TabularExplainer",
    "TreeScoringExplainer",
    "load",
    "save",
]
