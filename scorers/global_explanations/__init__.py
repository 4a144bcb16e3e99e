"""Global explanations of several kinds for a fitted explainer: ``shap`` (mean |SHAP|), ``pfi``
(permutation importance, needs true labels) and ``mimic`` (a global surrogate's mean |SHAP| with its
fidelity).  ``ScoringExplainer.explain_global`` calls :func:`explain_global`; the seed's explainers
(``scorers.interpret``) and the service use the same functions.

A mimic surrogate of a packaged explainer learns the model on the artifact's stored training sample
(``sample.json``); it is fitted once per explainer and explainable model, then reused.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError
from ..explanation_objects import GlobalExplanation
from ..manifest import MimicInfo
from .mimic import Mimic, fit_mimic
from .pfi import DEFAULT_METRIC, DEFAULT_REPEATS, permutation_importance
from .surrogates import DEFAULT_SURROGATE, SURROGATES, ExplainableModel, resolve

if TYPE_CHECKING:
    import pandas as pd

    from ..scoring_explainer import ScoringExplainer

KINDS = ("shap", "pfi", "mimic")
_LOCK = threading.Lock()


def check_kind(kind: Any) -> str:
    if kind not in KINDS:
        raise InputError(f"unknown kind {kind!r}; expected one of {list(KINDS)}", field="kind")
    return str(kind)


class Packaged:
    """A fitted explainer as a predictor, in the labels it answers with (the class names given at
    packaging, when there are some); ``aliases`` holds the model's own labels then."""

    def __init__(self, explainer: ScoringExplainer) -> None:
        self.explainer = explainer
        self.task = explainer.task
        self.classes = list(explainer.classes) if explainer.classes is not None else []
        own = getattr(explainer.manifest.model, "labels", None)
        self.aliases = [own] if own else []

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        return self.explainer.predict_frame(frame)

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        return self.explainer.predict_proba_frame(frame)


def shap_global(explainer: ScoringExplainer, frame: pd.DataFrame) -> GlobalExplanation:
    """Mean |SHAP| per feature and class over validated rows."""
    exp = explainer.explain_frame(frame)
    return GlobalExplanation(
        np.abs(exp.values).mean(axis=0),
        explainer.features,
        explainer.classes,
        explainer.output_space,
        len(frame),
    )


def mimic_for(explainer: ScoringExplainer, surrogate: Any = None) -> Mimic:
    """The explainer's surrogate of one explainable model, trained on its training sample (cached)."""
    model = resolve(surrogate if surrogate is not None else stored_surrogate(explainer))
    key = type(model).__name__ + repr(sorted(model.params.items()))
    with _LOCK:
        cached = explainer.surrogates.get(key)
        if cached is None:
            if explainer.sample is None or len(explainer.sample) == 0:
                raise InputError("this explainer has no stored training sample to train a surrogate on")
            cached = fit_mimic(
                Packaged(explainer),
                explainer.validate(explainer.sample),
                model,
                schema=explainer.schema,
                classes=explainer.classes,
            )
            explainer.surrogates[key] = cached
    return cached


def stored_surrogate(explainer: ScoringExplainer) -> str:
    """The explainable model of the stored mimic explanation, else the default."""
    stored = explainer.evaluation.globals.get("mimic") if explainer.evaluation is not None else None
    surrogate = MimicInfo.model_validate(stored.info).surrogate if stored is not None else None
    return surrogate or DEFAULT_SURROGATE


def stored(explainer: ScoringExplainer, kind: str) -> GlobalExplanation:
    """The global explanation of a kind stored at packaging (shap: over the evaluation rows when there
    are some, else over the training sample)."""
    kind = check_kind(kind)
    if explainer.evaluation is not None and kind in explainer.evaluation.globals:
        return explainer.evaluation.globals[kind]
    if kind == "shap" and explainer.global_explanation is not None:
        return explainer.global_explanation
    how = (
        "--eval-data FILE (with labels) --global pfi"
        if kind == "pfi"
        else f"--eval-data FILE --global {kind}"
    )
    raise InputError(
        f"this artifact has no stored '{kind}' global explanation; package it with {how}, or compute one "
        "from rows (POST /explain_global, explain_global(rows, kind=...))",
        field="kind",
    )


def explain_global(
    explainer: ScoringExplainer,
    frame: pd.DataFrame,
    *,
    kind: str = "shap",
    labels: Any = None,
    metric: str | None = None,
    n_repeats: int = DEFAULT_REPEATS,
    random_state: int = 0,
    surrogate: Any = None,
) -> GlobalExplanation:
    """A global explanation of ``kind`` computed on validated raw rows ``frame``."""
    kind = check_kind(kind)
    if kind == "shap":
        return shap_global(explainer, frame)
    if kind == "pfi":
        if labels is None:
            raise InputError("permutation importance needs the rows' true labels", field="labels")
        predictor = Packaged(explainer)
        return permutation_importance(
            predictor,
            frame,
            labels,
            features=explainer.features,
            classes=explainer.classes,
            aliases=predictor.aliases,
            metric=metric,
            n_repeats=n_repeats,
            random_state=random_state,
        )
    return mimic_for(explainer, surrogate).explain_global(frame)


__all__ = [
    "DEFAULT_METRIC",
    "DEFAULT_REPEATS",
    "DEFAULT_SURROGATE",
    "KINDS",
    "SURROGATES",
    "ExplainableModel",
    "Mimic",
    "explain_global",
    "fit_mimic",
    "mimic_for",
    "permutation_importance",
    "resolve",
    "shap_global",
    "stored",
]
