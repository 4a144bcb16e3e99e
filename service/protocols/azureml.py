"""The ``score.py`` answer: ``/explain``'s, with ``local_importance_values`` laid out as Azure ML's
scoring explainers returned them.

``KernelScoringExplainer.explain`` (azureml-interpret 1.62.0, with interpret-community 0.31.0 and
shap 0.44.0, run on the seed's SVC and on a regressor) returns ``shap.KernelExplainer.shap_values``
as lists: for a classifier one ``[row][feature]`` matrix per class, i.e. ``[class][row][feature]``; for a
regressor one ``[row][feature]`` matrix.  ``docs/protocols.md`` has the run.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import ConfigDict, Field, RootModel

from ..schemas import PredictResponse


def score_response(explained: dict[str, Any]) -> dict[str, Any]:
    """``ScoringService.explain``'s answer ([row][class][feature]) with the score.py layout first."""
    values = explained["local_importance_values"]
    if explained.get("classes") is not None:
        values = np.asarray(values, dtype=np.float64).transpose(1, 0, 2).tolist()
    return {
        "predictions": explained["predictions"],
        "local_importance_values": values,
        **{k: v for k, v in explained.items() if k not in ("predictions", "local_importance_values")},
    }


class ScoreRequest(RootModel[Any]):
    """Any JSON value: ``DataFrame.to_json()`` in any orient, or ``{"data": rows}`` (see ``pandas_json``)."""

    model_config = ConfigDict(
        json_schema_extra={
            "description": "DataFrame.to_json() in the orient columns (pandas' default), records, split, "
            'index, values or table, or Azure ML\'s {"data": rows}; the orient is detected from the shape.',
            "examples": [
                {"mean radius": {"0": 13.4}, "mean texture": {"0": 20.52}},
                {"data": [[13.4, 20.52]]},
            ],
        }
    )


class ScoreResponse(PredictResponse):
    local_importance_values: list[Any] = Field(
        description="As Azure ML's scoring explainers returned it: [class][row][feature] for classifiers, "
        "[row][feature] for regressors; expected_values[k] + sum over features == explained_outputs[row][k]."
    )
    features: list[str]
    output_space: str = Field(description="probability, log_odds or raw: what the values explain.")
    expected_values: list[float] | float = Field(
        description="Base value per class (a number for regressors)."
    )
    explained_outputs: list[list[float]] | list[float] = Field(
        description="The model output explained: [row][class] or [row]."
    )
