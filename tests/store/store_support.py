"""Helpers of the store tests: small fitted explainers and the JSON answers the service gives.

``explain_answer`` and ``global_answer`` build the ``/explain`` and ``/explain_global`` bodies from
engine objects the way ``service.core`` does, so these tests do not start a BentoML service.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
import pandas as pd

import scorers


@functools.cache
def iris() -> tuple[scorers.ScoringExplainer, pd.DataFrame]:
    """A 3-class logistic regression (linear scorer, log-odds space) and its rows."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    x, y = load_iris(return_X_y=True, as_frame=True)
    y = y.map(dict(enumerate(["setosa", "versicolor", "virginica"])))
    model = LogisticRegression(max_iter=500).fit(x, y)
    return scorers.fit(model, x, eval_size=50), x


@functools.cache
def diabetes() -> tuple[scorers.ScoringExplainer, pd.DataFrame]:
    """A ridge regressor (linear scorer, raw space) and its rows."""
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    x, y = load_diabetes(return_X_y=True, as_frame=True)
    return scorers.fit(Ridge().fit(x, y), x, eval_size=50), x


def explain_answer(explainer: scorers.ScoringExplainer, rows: pd.DataFrame) -> dict[str, Any]:
    """The body ``POST /explain`` answers for ``rows``."""
    exp = explainer.explain(rows)
    out: dict[str, Any] = {"predictions": [_label(v) for v in explainer.predict(rows)]}
    if exp.classes is not None:
        out["probabilities"] = explainer.predict_proba(rows).tolist()
        out["classes"] = [_label(c) for c in exp.classes]
    out.update(
        features=exp.features,
        output_space=exp.output_space,
        expected_values=exp.expected_values,
        explained_outputs=exp.explained_outputs,
        local_importance_values=exp.local_importance_values,
    )
    return out


def global_answer(glob: scorers.GlobalExplanation, top_k: int | None = None) -> dict[str, Any]:
    """The body ``GET /explain_global?top_k=K`` answers."""
    return {
        "output_space": glob.output_space,
        "n_rows": glob.n_rows,
        "classes": glob.classes,
        "ranked_names": glob.get_ranked_global_names(top_k),
        "ranked_values": glob.get_ranked_global_values(top_k),
        "per_class": {
            str(c): dict(zip(glob.features, row, strict=True))
            for c, row in zip(glob.classes or ["value"], glob.per_class.tolist(), strict=True)
        },
    }


def pfi_answer(features: list[str], seed: int = 0) -> dict[str, Any]:
    """A permutation-importance global explanation as another kind would send it."""
    rng = np.random.default_rng(seed)
    drop = rng.random(len(features))
    return {
        "kind": "pfi",
        "output_space": "accuracy",
        "n_rows": 40,
        "classes": None,
        "features": features,
        "per_class": [drop.tolist()],
        "extras": {"std": (drop / 10).tolist()},
        "info": {"metric": "accuracy", "n_repeats": 5},
    }


def _label(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
