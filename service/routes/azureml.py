"""``POST /score``: the seed's ``score.py`` call, ``requests.post(uri, frame.to_json())``, and Azure ML's
``{"data": rows}``, answered in the ``score.py`` shape plus our keys."""

from __future__ import annotations

from typing import Any

from ..protocols import pandas_json
from ..protocols.azureml import ScoreRequest, ScoreResponse, score_response
from ..routing import Call, RouteSpec


def score(call: Call) -> dict[str, Any]:
    rows, _orient = pandas_json.decode(call.body.root, call.core.explainer.features)
    return score_response(call.core.explain(rows, cancel=call.cancel.is_set))


ROUTES = (
    RouteSpec(
        "/score",
        "POST",
        score,
        'Azure ML score.py: DataFrame.to_json() (any orient) or {"data": rows} -> predictions and '
        "local_importance_values",
        body=ScoreRequest,
        response=ScoreResponse,
        scoring=True,
        tags=("azureml",),
    ),
)
