"""The seed's ``TabularExplainer`` for the seed-snippet test, on the engine's ``scorers.fit``.

``scorers.interpret`` (the seed's names) is being written elsewhere; until it lands, this stands in
for ``from interpret.ext.blackbox import TabularExplainer`` so that the snippet keeps its code and only
its imports change.  ``classes`` names the model's outputs in order, as in the seed.  Fits and global
explanations are cached per model and data object (the test runs the snippet once per backend), and
fits check additivity on 20 rows instead of 200: the store is under test here, not the engine.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import scorers

_FITTED: dict[int, tuple[Any, scorers.ScoringExplainer]] = {}
_GLOBAL: dict[tuple[int, int], tuple[Any, scorers.GlobalExplanation]] = {}


class TabularExplainer:
    def __init__(
        self, model: Any, initialization_examples: Any, features: Any = None, classes: Any = None
    ) -> None:
        if id(model) not in _FITTED:
            fitted = scorers.fit(model, initialization_examples, feature_names=features, eval_size=20)
            _FITTED[id(model)] = (model, fitted)
        self.model = model
        self.explainer = _FITTED[id(model)][1]
        self.classes = list(classes) if classes is not None else None

    def explain_global(self, evaluation_examples: Any) -> scorers.GlobalExplanation:
        key = (id(self.model), id(evaluation_examples))
        if key not in _GLOBAL:
            _GLOBAL[key] = (evaluation_examples, self.explainer.explain_global(evaluation_examples))
        glob = _GLOBAL[key][1]
        return dataclasses.replace(glob, classes=self.classes) if self.classes is not None else glob

    def explain_local(self, evaluation_examples: Any) -> scorers.Explanation:
        exp = self.explainer.explain(evaluation_examples)
        return dataclasses.replace(exp, classes=self.classes) if self.classes is not None else exp
