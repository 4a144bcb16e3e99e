"""Permutation feature importance: how much a metric drops when one raw feature's values are shuffled.

The numbers are scikit-learn's ``sklearn.inspection.permutation_importance`` on the model's own
predictions over the raw rows, with the same ``scoring``, ``n_repeats`` and ``random_state`` (a test
holds them equal to a direct call on the user's model).  The default metric follows interpret-community's
PFIExplainer: accuracy for classifiers (its default, micro-averaged F1, is accuracy for single-label
classes) and mean absolute error for regressors (as ``neg_mean_absolute_error``, so that, as there, a
positive importance is an increase of the error).  PFI has no local explanations and no per-class values:
``per_class`` holds one row, the metric's drop; ``extras["std"]`` the spread over the repeats.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from ..errors import InputError
from ..explanation_objects import FloatArray, GlobalExplanation
from ..runtimes.base import CLASSIFIER, REGRESSOR

DEFAULT_METRIC = {CLASSIFIER: "accuracy", REGRESSOR: "neg_mean_absolute_error"}
DEFAULT_REPEATS = 5
MAX_REPEATS = 100


class Predictor(Protocol):
    """What PFI and surrogates ask of a model: a model runtime (``scorers.runtimes``) satisfies it."""

    task: str
    classes: list[Any]

    def predict(self, frame: pd.DataFrame) -> np.ndarray: ...

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray: ...


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def model_labels(
    labels: Any, predictor: Predictor, n_rows: int, aliases: Sequence[Sequence[Any] | None] = ()
) -> np.ndarray:
    """True labels in the label space of ``predictor.predict``.

    Classifiers: each label is one of ``predictor.classes``, or the same class under another name from
    ``aliases`` (lists by position: the ``classes=`` display names, or a model's own labels when it was
    packaged with names).  Regressors: finite numbers.
    """
    values = list(labels.tolist() if hasattr(labels, "tolist") else labels)
    if len(values) != n_rows:
        raise InputError(f"expected {n_rows} labels (one per row), got {len(values)}", field="labels")
    if predictor.task != CLASSIFIER:
        out = np.empty(n_rows)
        for i, v in enumerate(values):
            v = _plain(v)
            if isinstance(v, bool) or not isinstance(v, int | float) or not np.isfinite(v):
                raise InputError(f"expected a finite number, got {v!r}", row=i, field="labels")
            out[i] = float(v)
        return out
    classes = [_plain(c) for c in predictor.classes]
    index: dict[Any, int] = {}
    for names in aliases:
        for i, name in enumerate(names or []):
            index.setdefault(_plain(name), i)
    for i, c in enumerate(classes):
        index[c] = i  # the predictor's own labels win over a clashing alias
    picks = np.empty(n_rows, dtype=np.int64)
    for i, v in enumerate(values):
        v = _plain(v)
        try:
            picks[i] = index[v]
        except (KeyError, TypeError):
            known = [*classes, *(_plain(a) for names in aliases for a in (names or []))]
            shown = list(dict.fromkeys(known))[:20]
            raise InputError(f"unknown label {v!r}; expected one of {shown}", row=i, field="labels") from None
    return np.asarray(predictor.classes)[picks]


def _estimator(predictor: Predictor) -> Any:
    """The model as a fitted scikit-learn estimator on raw frames, for scikit-learn's scorers."""
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

    class _Model(BaseEstimator):  # type: ignore[misc]
        def fit(self, x: Any, y: Any = None) -> Any:  # never called: the model is fitted
            return self

        def __sklearn_is_fitted__(self) -> bool:
            return True

        def predict(self, x: pd.DataFrame) -> np.ndarray:
            return predictor.predict(x)

    if predictor.task == CLASSIFIER:

        class _Classifier(ClassifierMixin, _Model):  # type: ignore[misc]
            classes_ = np.asarray(predictor.classes)

            def predict_proba(self, x: pd.DataFrame) -> FloatArray:
                return predictor.predict_proba(x)

        return _Classifier()

    class _Regressor(RegressorMixin, _Model):  # type: ignore[misc]
        pass

    return _Regressor()


def check_metric(metric: str | None, task: str) -> str:
    from sklearn.metrics import get_scorer_names

    metric = metric or DEFAULT_METRIC[task]
    if metric not in get_scorer_names():
        raise InputError(
            f"unknown metric {metric!r}; expected a scikit-learn scorer name such as "
            f"{DEFAULT_METRIC[CLASSIFIER]!r} or {DEFAULT_METRIC[REGRESSOR]!r}",
            field="metric",
        )
    return metric


def check_repeats(n_repeats: Any) -> int:
    if isinstance(n_repeats, bool) or not isinstance(n_repeats, int) or not 1 <= n_repeats <= MAX_REPEATS:
        raise InputError(f"expected an integer from 1 to {MAX_REPEATS}, got {n_repeats!r}", field="n_repeats")
    return n_repeats


def permutation_importance(
    predictor: Predictor,
    frame: pd.DataFrame,
    labels: Any,
    *,
    features: list[str],
    classes: Sequence[Any] | None = None,
    aliases: Sequence[Sequence[Any] | None] = (),
    metric: str | None = None,
    n_repeats: int = DEFAULT_REPEATS,
    random_state: int = 0,
) -> GlobalExplanation:
    """PFI of ``predictor`` on validated raw rows ``frame`` with true ``labels`` (the predictor's labels, or
    by position the display ``classes`` or any of ``aliases``): a ``GlobalExplanation`` of kind ``pfi``,
    per_class (1, M), ``std`` (1, M)."""
    import warnings

    from sklearn.inspection import permutation_importance as sk_pfi
    from sklearn.metrics import get_scorer

    metric = check_metric(metric, predictor.task)
    n_repeats = check_repeats(n_repeats)
    if len(frame) < 2:
        raise InputError("permutation importance needs at least 2 rows", field="instances")
    y = model_labels(labels, predictor, len(frame), [classes, *aliases])
    est = _estimator(predictor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # scikit-learn's "y_pred contains classes not in y_true"
        try:
            result = sk_pfi(est, frame, y, scoring=metric, n_repeats=n_repeats, random_state=random_state)
            baseline = float(get_scorer(metric)(est, frame, y))
        except ValueError as exc:  # a metric that does not fit the task (roc_auc on three classes, ...)
            raise InputError(f"metric {metric!r} cannot score this model: {exc}", field="metric") from None
    info: dict[str, Any] = {
        "metric": metric,
        "n_repeats": n_repeats,
        "random_state": random_state,
        "baseline": baseline,
    }
    if predictor.task == CLASSIFIER:
        info["classes"] = [_plain(c) for c in (classes if classes is not None else predictor.classes)]
    return GlobalExplanation(
        np.asarray(result.importances_mean, dtype=np.float64)[None, :],
        list(features),
        None,
        metric,
        len(frame),
        kind="pfi",
        extras={"std": np.asarray(result.importances_std, dtype=np.float64)[None, :]},
        info=info,
    )
