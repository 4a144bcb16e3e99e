"""A request's labels and probabilities from the decision values its explanation computes anyway.

A binary RBF ``SVC(probability=True)`` explained in the ``raw`` space (the kernel_machine scorer's margin)
has the decision value ``d`` of every explained row among the explanation's outputs (``(-d, d)``).  Its
``predict`` is the sign of ``d`` (libsvm's vote for two classes) and its ``predict_proba`` is libsvm's
Platt scaling and pairwise coupling of ``d`` (``runtimes.fastpaths.RbfSvcProba``), so a served
``/explain`` needs neither model call, and ``/predict`` needs one GEMM of the row against the support
vectors for ``d`` instead of two model calls (``scorers.bulk.svc_from_decision``: a row within
``bulk.BOUNDARY`` of 0 is labelled by the model).

Used only once verified, when the explainer is loaded: on every row the artifact holds (its sample and its
background), the labels from both decision values (the explained outputs, the GEMM) must equal the model's
``predict`` and the probabilities be within ``bulk.PARITY`` of its ``predict_proba``.  Otherwise (another model, another space, a model that
answers otherwise where it is served) the model answers, as before.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from . import bulk, spaces
from .masking import IDENTITY
from .runtimes import CLASSIFIER
from .runtimes.fastpaths import RbfSvcProba

if TYPE_CHECKING:
    from .scoring_explainer import ScoringExplainer


@dataclass(frozen=True)
class DecisionPredictions:
    """(labels, probabilities) of rows from their explained outputs, for one verified explainer."""

    fast: RbfSvcProba
    classes: np.ndarray  # the runtime's classes, as objects
    runtime: Any

    def of(self, frame: pd.DataFrame, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the runtime's labels, probabilities) of validated rows ``frame`` whose explained outputs in
        the ``raw`` space are ``outputs`` (n, 2)."""
        d = np.asarray(outputs, dtype=np.float64)[:, 1]
        return bulk.svc_from_decision(self.fast, d, self.classes, self.runtime, frame)

    def of_rows(self, frame: pd.DataFrame, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same for rows not explained: ``x`` their encoding (the model's input), the decision values
        one GEMM (``RbfSvcProba.decision_function``)."""
        return bulk.svc_from_decision(
            self.fast, self.fast.decision_function(x), self.classes, self.runtime, frame
        )


def verified(explainer: ScoringExplainer) -> DecisionPredictions | None:
    """The decision path of ``explainer`` when it applies and matches the model on every packaged row."""
    runtime = explainer.runtime
    model = getattr(runtime, "model", None)
    if (
        runtime.name != "sklearn"
        or runtime.task != CLASSIFIER
        or explainer.output_space != spaces.RAW
        or explainer.masking.mode != IDENTITY
        or not RbfSvcProba.applies(model)
    ):
        return None
    path = DecisionPredictions(RbfSvcProba(model), np.asarray(runtime.classes, dtype=object), runtime)
    parts = [explainer.background.raw] + ([explainer.sample] if explainer.sample is not None else [])
    rows = explainer.validate(pd.concat(parts, ignore_index=True))
    x = explainer.masking.encode(rows)
    for labels, proba in (path.of(rows, explainer.scorer.outputs(x)), path.of_rows(rows, x)):
        if not bulk.matches_model(explainer, rows, explainer.named(labels), proba):
            return None
    return path
