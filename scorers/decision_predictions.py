"""A request's labels from the decision values its explanation computes anyway.

A binary RBF ``SVC(probability=True)`` explained in the ``raw`` space (the kernel_machine scorer's margin)
has the decision value ``d`` of every explained row among the explanation's outputs (``(-d, d)``), and its
``predict`` is the sign of ``d`` (libsvm's vote for two classes).  So a served ``/explain`` takes its
labels from the explanation, and ``/predict`` from one GEMM of the rows against the support vectors
(``runtimes.fastpaths.RbfDecision``), instead of calling ``predict`` (``scorers.bulk.svc_labels``: a row
within ``bulk.BOUNDARY`` of 0 is labelled by the model).  The probabilities stay the model's own
``predict_proba``, to the last bit: libsvm's Platt scaling reproduced from ``d`` agrees to about 1e-12,
and every answer path (``/score``, the jobs' pages, ``explain-batch``) gives the same bits as before.

Used only once verified, when the explainer is loaded: on every row the artifact holds (its sample and its
background), the labels from both decision values (the explained outputs, the GEMM) must equal the model's
``predict``.  Otherwise (another model, another space, a model that answers otherwise where it is served)
the model answers, as before.
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
    """(labels, probabilities) of rows, the labels from their decision values, for one verified explainer."""

    fast: RbfSvcProba
    classes: np.ndarray  # the runtime's classes, as objects
    runtime: Any

    def of(self, frame: pd.DataFrame, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the runtime's labels, ``predict_proba``) of validated rows ``frame`` whose explained outputs in
        the ``raw`` space are ``outputs`` (n, 2)."""
        d = np.asarray(outputs, dtype=np.float64)[:, 1]
        return bulk.svc_labels(d, self.classes, self.runtime, frame), self.runtime.predict_proba(frame)

    def of_rows(self, frame: pd.DataFrame, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same for rows not explained: ``x`` their encoding (the model's input), the decision values
        one GEMM (``RbfSvcProba.decision_function``)."""
        labels = bulk.svc_labels(self.fast.decision_function(x), self.classes, self.runtime, frame)
        return labels, self.runtime.predict_proba(frame)


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
    for d in (explainer.scorer.outputs(x)[:, 1], path.fast.decision_function(x)):
        labels = bulk.svc_labels(d, path.classes, runtime, rows)
        if not bulk.matches_model(explainer, rows, explainer.named(labels), None):
            return None
    return path
