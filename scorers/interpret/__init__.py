"""The seed's names (Azure ML's ``azureml-interpret`` / interpret-community), on shapserve's engine.

Replace the seed's imports and keep the code::

    from interpret.ext.blackbox import TabularExplainer        ->  from scorers.interpret import TabularExplainer
    from interpret.ext.glassbox import LGBMExplainableModel     ->  from scorers.interpret import LGBMExplainableModel
    from azureml.interpret.scoring.scoring_explainer import KernelScoringExplainer, save, load
                                                                ->  from scorers.interpret import ...
    from sklearn_pandas import DataFrameMapper                  ->  from scorers.interpret import DataFrameMapper

``docs/migration.md`` shows each seed snippet beside its shapserve version, and what differs.
The seed's ``azureml.interpret.ExplanationClient`` is the explanation store's: ``from store import
ExplanationClient`` (the engine imports nothing above it).
"""

from __future__ import annotations

from ..explanation_objects import GlobalExplanation
from ..global_explanations.surrogates import (
    DecisionTreeExplainableModel,
    ExplainableModel,
    LGBMExplainableModel,
    LinearExplainableModel,
    SGDExplainableModel,
)
from ..transformations import DataFrameMapper
from .scoring import (
    BaseScoringExplainer,
    KernelScoringExplainer,
    LinearScoringExplainer,
    TreeScoringExplainer,
    load,
    save,
)
from .seed_explainers import MimicExplainer, PFIExplainer, TabularExplainer
from .seed_explanations import LocalExplanation

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
