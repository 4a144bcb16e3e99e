"""The seed's local explanation object: the engine's ``Explanation`` in interpret-community's layout.

interpret-community lays local values out per class first: ``local_importance_values`` is
``[class][row][feature]`` for classifiers and ``[row][feature]`` for regressors, and the ranked names and
values follow the same layout.  (The engine and the HTTP API put the row first: ``[row][class][feature]``.)
Rankings are by decreasing |value|, as everywhere in shapserve (the engine, ``/explain``'s ``ranked``,
the explanation store); interpret-community ranks by signed value (docs/migration.md).
Global explanations are the engine's ``GlobalExplanation``, which answers the seed's calls itself.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from ..explanation_objects import Explanation, FloatArray

if TYPE_CHECKING:
    from ..interactions import Interactions


class LocalExplanation:
    """Local explanation of n rows in the seed's layout; ``explanation`` is the engine's object."""

    def __init__(
        self, explanation: Explanation, *, engineered: bool = False, interactions: Interactions | None = None
    ) -> None:
        self.explanation = explanation
        self.is_engineered = engineered
        self.is_raw = not engineered
        self.interactions = interactions  # explain_local(..., interactions=True)

    @property
    def local_interaction_values(self) -> list[Any] | None:
        """Pairwise interaction values in the seed's class-first layout: ``[class][row][feature][feature]``
        for classifiers, ``[row][feature][feature]`` for regressors (None unless asked for); each
        ``[feature]`` row sums to the matching ``local_importance_values`` entry (scorers.interactions)."""
        if self.interactions is None:
            return None
        return self._shape(np.transpose(self.interactions.values, (1, 0, 2, 3)))

    # -- facts ------------------------------------------------------------------------------------------
    @property
    def features(self) -> list[str]:
        return self.explanation.features

    @property
    def classes(self) -> list[Any] | None:
        return self.explanation.classes

    @property
    def num_features(self) -> int:
        return len(self.explanation.features)

    @property
    def num_examples(self) -> int:
        return int(self.explanation.values.shape[0])

    @property
    def output_space(self) -> str:
        return self.explanation.output_space

    @property
    def is_classifier(self) -> bool:
        return self.explanation.is_classifier

    @property
    def expected_values(self) -> list[float] | float:
        """Per class for classifiers, one number for regressors."""
        return self.explanation.expected_values

    # -- values -------------------------------------------------------------------------------------------
    def _by_output(self) -> FloatArray:
        """(K, n, M): the seed's class-first layout."""
        return np.transpose(self.explanation.values, (1, 0, 2))

    def _shape(self, a: np.ndarray) -> list[Any]:
        return (a if self.is_classifier else a[0]).tolist()

    @property
    def local_importance_values(self) -> list[Any]:
        """[class][row][feature] for classifiers, [row][feature] for regressors."""
        return self._shape(self._by_output())

    def _order(self) -> np.ndarray:
        return np.argsort(-np.abs(self._by_output()), axis=2, kind="stable")

    def get_local_importance_rank(self) -> list[Any]:
        """Feature indexes by decreasing |value|, in the layout of ``local_importance_values``."""
        return self._shape(self._order())

    def get_ranked_local_names(self, top_k: int | None = None) -> list[Any]:
        order = self._order()[..., :top_k]
        names = np.asarray(self.features, dtype=object)[order]
        return self._shape(names)

    def get_ranked_local_values(self, top_k: int | None = None) -> list[Any]:
        order = self._order()[..., :top_k]
        return self._shape(np.take_along_axis(self._by_output(), order, axis=2))

    def __repr__(self) -> str:
        kind = "engineered" if self.is_engineered else "raw"
        return (
            f"LocalExplanation({self.num_examples} rows, {self.num_features} {kind} features, "
            f"space={self.output_space!r}, scorer={self.explanation.scorer!r})"
        )
