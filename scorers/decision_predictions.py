"""A request's labels from the decision values its explanation computes anyway.

A binary RBF ``SVC(probability=True)`` explained in the ``raw`` space (the kernel_machine scorer's margin)
has the decision value ``d`` of every explained row among the explanation's outputs (``(-d, d)``), and its
``predict`` is the sign of ``d`` (libsvm's vote for two classes).  So a served ``/explain`` takes its
labels from the explanation, and ``/predict`` from one GEMM of the rows against the support vectors
(``runtimes.fastpaths.RbfDecision``), instead of calling ``predict`` (``scorers.bulk.svc_labels``: a row
within ``bulk.BOUNDARY`` of 0 is labelled by the model).  The probabilities stay the model's own
``predict_proba``, to the last bit: libsvm's Platt scaling reproduced from ``d`` agrees to about 1e-12,
and every answer path (``/score``, the jobs' pages, ``explain-batch``) gives the same bits as before.
They come from the model's own libsvm call without scikit-learn's checks of its input (``checked``), which
the schema has made already (numeric, finite, these columns in this order): 0.24 of 0.28 ms of a 1-row
``predict_proba`` was the checks (docs/performance.md, "The request path, round 8").

Used only once verified, when the explainer is loaded: on every row the artifact holds (its sample and its
background), the labels from both decision values (the explained outputs, the GEMM) must equal the model's
``predict``.  Otherwise (another model, another space, a model that answers otherwise where it is served)
the model answers, as before.  The unchecked call is used once it equals ``predict_proba`` bit for bit on
the same rows, and for finite rows only (scikit-learn refuses the others itself).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
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
    # libsvm's predict_proba of the rows as the model's float64 C-order input, without scikit-learn's checks
    # of that input; set only once equal bit for bit to the runtime's ``predict_proba`` (``verified``)
    checked: Callable[[np.ndarray], np.ndarray] | None = None

    def proba(self, frame: pd.DataFrame) -> np.ndarray:
        """``predict_proba`` of validated rows: the model's libsvm call on their float64 values when
        verified and finite, else the runtime's own call (with its checks and errors)."""
        if self.checked is not None:
            x = np.ascontiguousarray(frame.to_numpy(dtype=np.float64))
            if np.isfinite(x).all():
                return np.asarray(self.checked(x), dtype=np.float64)
        return np.asarray(self.runtime.predict_proba(frame), dtype=np.float64)

    def of(self, frame: pd.DataFrame, outputs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(the runtime's labels, ``predict_proba``) of validated rows ``frame`` whose explained outputs in
        the ``raw`` space are ``outputs`` (n, 2)."""
        d = np.asarray(outputs, dtype=np.float64)[:, 1]
        return bulk.svc_labels(d, self.classes, self.runtime, frame), self.proba(frame)

    def of_rows(self, frame: pd.DataFrame, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The same for rows not explained: ``x`` their encoding (the model's input), the decision values
        one GEMM (``RbfSvcProba.decision_function``)."""
        labels = bulk.svc_labels(self.fast.decision_function(x), self.classes, self.runtime, frame)
        return labels, self.proba(frame)


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
    checked = _libsvm_proba(model)
    if checked is not None and _same_bits(checked, rows, runtime):
        path = replace(path, checked=checked)
    return path


def _libsvm_proba(model: Any) -> Callable[[np.ndarray], np.ndarray] | None:
    """scikit-learn's own libsvm step of ``SVC.predict_proba`` (what it calls once its checks pass) for a
    dense model with a named kernel, else None (a scikit-learn without it included)."""
    dense = getattr(model, "_dense_predict_proba", None)
    if dense is None or getattr(model, "_sparse", True) or callable(getattr(model, "kernel", None)):
        return None
    return dense  # type: ignore[no-any-return]


def _same_bits(checked: Callable[[np.ndarray], np.ndarray], rows: pd.DataFrame, runtime: Any) -> bool:
    """Whether ``checked`` of ``rows`` is the runtime's ``predict_proba`` of them to the last bit."""
    try:
        got = np.asarray(checked(np.ascontiguousarray(rows.to_numpy(dtype=np.float64))), dtype=np.float64)
    except Exception:  # noqa: BLE001 - a library whose private step takes other arguments: not used
        return False
    want = np.asarray(runtime.predict_proba(rows), dtype=np.float64)
    return got.shape == want.shape and got.tobytes() == want.tobytes()
