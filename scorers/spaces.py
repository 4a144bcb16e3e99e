"""Output spaces: what number an explanation explains.

``probability``: predict_proba, one column per class.
``log_odds``: binary classifiers, the log-odds of each class, ``[-m, m]`` with ``m`` the log-odds of the
positive class; multiclass classifiers, the centred log-probabilities ``log p_k - mean_j log p_j`` (the
softmax logits up to the constant that cancels).  Margin models (logistic regression, gradient boosting)
give them from ``decision_function`` directly, other classifiers from clipped probabilities.
``raw``: regressors, the prediction; classifiers, the decision function (the margin of an SVM), with a
binary margin ``d`` reported as ``[-d, d]``.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

PROBABILITY = "probability"
LOG_ODDS = "log_odds"
RAW = "raw"
SPACES = (PROBABILITY, LOG_ODDS, RAW)

_EPS = 1e-12


def from_probability(proba: npt.NDArray[np.float64], space: str) -> npt.NDArray[np.float64]:
    proba = np.asarray(proba, dtype=np.float64)
    if space == PROBABILITY:
        return proba
    if space != LOG_ODDS:
        raise ValueError(f"cannot derive the '{space}' space from probabilities")
    p = np.clip(proba, _EPS, 1.0 - _EPS)
    if p.shape[1] == 2:
        m = np.log(p[:, 1]) - np.log(p[:, 0])
        return np.stack([-m, m], axis=1)
    logp = np.log(p)
    return logp - logp.mean(axis=1, keepdims=True)


def from_margin(margin: npt.NDArray[np.float64], space: str, n_classes: int) -> npt.NDArray[np.float64]:
    """Decision-function output (binary: shape (n,), multiclass: (n, K)) to the given space."""
    d = np.asarray(margin, dtype=np.float64)
    if d.ndim == 1 or (d.ndim == 2 and d.shape[1] == 1 and n_classes == 2):
        d = d.reshape(-1)
        return np.stack([-d, d], axis=1)
    if space == LOG_ODDS:
        return d - d.mean(axis=1, keepdims=True)
    return d
