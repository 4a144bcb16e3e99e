"""The adapter every gradient-boosting library fills: one booster in its canonical form.

A ``NativeBooster`` is the booster rebuilt from the safe file the artifact stores (LightGBM model text,
XGBoost JSON), so packaging and serving run the very same trees.  It answers what the model is (task,
class labels, link), its outputs in an output space, and how to save it.  The libraries' subclasses live
in ``runtimes/lightgbm.py`` and ``runtimes/xgboost.py``; choosing one is ``runtimes/boosters.adapt``.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from .. import spaces
from ..errors import UnsupportedModelError
from ..input_schema import Schema
from .base import CLASSIFIER, REGRESSOR, FloatArray, OutputFn


class NativeBooster:
    """One library's booster, canonicalised; subclasses fill the attributes and the four outputs."""

    library: str = ""  # runtime name and the manifest's model.format
    format: str = ""
    suffix: str = ""  # file name suffix in the artifact
    booster: Any
    task: str
    labels: list[Any]  # class labels in output order (classifiers); [] for regressors
    n_features: int
    feature_names: list[str] | None  # names the model was trained with, None for generic names
    margin_model: bool  # classifier whose probabilities are the softmax / sigmoid of its margin
    identity_link: bool  # regressor whose prediction is the raw sum of its trees
    wrapper: str  # class name of the scikit-learn wrapper it came from, or the booster's
    params: dict[str, Any]  # facts about the model the tree parser needs (objective, scale, missing)

    def margin(self, x: np.ndarray) -> FloatArray:
        """(n, K') log-odds margin of a margin classifier (K' = 1 for binary), or the raw score."""
        raise NotImplementedError

    def proba(self, x: np.ndarray) -> FloatArray:
        """(n, K) class probabilities, as the library's predict_proba gives them."""
        raise NotImplementedError

    def value(self, x: np.ndarray) -> FloatArray:
        """(n,) predictions of a regressor."""
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        raise NotImplementedError

    # -- shared -----------------------------------------------------------------------------------------
    def predict_proba(self, x: np.ndarray) -> FloatArray:
        """The scikit-learn name, so that black-box scorers see that a classifier head has probabilities."""
        return self.proba(_floats(x))

    # -- shared -----------------------------------------------------------------------------------------
    @property
    def n_classes(self) -> int:
        return len(self.labels) if self.task == CLASSIFIER else 1

    def output(self, space: str, task: str, n_classes: int) -> OutputFn:
        """f(x) -> (n, K) in an output space (the scikit-learn runtime's ``estimator_output`` contract)."""
        if task == REGRESSOR:
            if space != spaces.RAW:
                raise UnsupportedModelError(f"a regressor is explained in the 'raw' space, not '{space}'")
            return lambda x: self.value(_floats(x)).reshape(len(x), 1)
        if space == spaces.PROBABILITY:
            return lambda x: self.proba(_floats(x))
        if space == spaces.LOG_ODDS:
            if self.margin_model:
                return lambda x: _from_margin(self.margin(_floats(x)), n_classes)
            return lambda x: spaces.from_probability(self.proba(_floats(x)), spaces.LOG_ODDS)
        raise UnsupportedModelError(
            f"a {self.library} classifier is explained in the 'probability' or 'log_odds' space, not '{space}'"
        )

    def predict_labels(self, x: np.ndarray) -> np.ndarray:
        """Labels of a classifier: the label of the largest probability, as the wrappers' predict."""
        return np.asarray(self.labels, dtype=object)[np.argmax(self.proba(x), axis=1)]

    def check_features(self, schema: Schema) -> None:
        """The raw columns must be the model's, in its order (the booster reads columns by position)."""
        if not schema.numeric_only:
            text = [f.name for f in schema.features if f.dtype != "number"]
            raise UnsupportedModelError(
                f"a {self.library} booster takes numeric columns; {text[:3]} hold text. Encode them first "
                f"(a scikit-learn Pipeline with a preprocessor before the {self.wrapper} is supported)"
            )
        if len(schema.names) != self.n_features:
            raise UnsupportedModelError(
                f"the {self.library} model takes {self.n_features} features; the data has {len(schema.names)} "
                f"columns ({schema.names[:5]}...)"
            )
        if self.feature_names is not None and _names(self.feature_names) != _names(schema.names):
            raise UnsupportedModelError(
                f"the {self.library} model was trained on the features {self.feature_names} in this order; "
                f"the data's columns are {schema.names}: give the data those columns in that order"
            )


def _names(names: list[str]) -> list[str]:
    """Names as LightGBM keeps them: whitespace becomes an underscore."""
    return [re.sub(r"\s", "_", str(n)) for n in names]


def _floats(x: Any) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float64)


def _from_margin(margin: FloatArray, n_classes: int) -> FloatArray:
    if margin.shape[1] == 1:
        return spaces.from_margin(margin[:, 0], spaces.LOG_ODDS, n_classes)
    return spaces.from_margin(margin, spaces.LOG_ODDS, n_classes)
