"""The XGBoost backend: an ``xgboost.Booster`` or ``XGBClassifier`` / ``XGBRegressor`` (and the
``XGBRF*`` variants), stored as XGBoost's JSON model (``save_raw("json")``: trees and parameters, no
code).

The booster is always rebuilt from that JSON (a wrapper trained with early stopping is cut to its best
iteration, as its predict does), so packaging and serving evaluate the same trees.  XGBoost converts
inputs to float32, compares them with float32 thresholds and sums its trees in float32; the tree
scorer explains the exact sum of those float32 leaves (docs/decisions.md).
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import numpy as np

from ..errors import UnsupportedModelError
from .base import CLASSIFIER, REGRESSOR, FloatArray
from .native_booster import NativeBooster

# objectives whose prediction is the raw margin (the sum of the trees plus the base score)
_IDENTITY = frozenset(
    {
        "reg:squarederror",
        "reg:pseudohubererror",
        "reg:absoluteerror",
        "reg:quantileerror",
        "binary:logitraw",
        "rank:pairwise",
        "rank:ndcg",
        "rank:map",
    }
)
_LOGISTIC = frozenset({"binary:logistic", "reg:logistic"})  # base_score is a probability
_CLASSIFIER = frozenset({"binary:logistic", "multi:softprob", "multi:softmax"})


def _base_scores(text: str) -> list[float]:
    """'[5E-1]', '5E-1' or '[a,b,c]' -> floats (XGBoost writes float32 values)."""
    return [float(np.float32(v)) for v in text.strip("[]").split(",") if v.strip()]


class XGBoostModel(NativeBooster):
    library = "xgboost"
    format = "xgboost"
    suffix = ".json"

    def __init__(
        self,
        raw: bytes,
        *,
        task: str | None,
        labels: list[Any] | None,
        wrapper: str,
        missing: float = math.nan,
    ) -> None:
        import xgboost

        self.raw = bytes(raw)
        self.booster = xgboost.Booster()
        self.booster.load_model(bytearray(self.raw))
        self.booster.set_param({"nthread": 1})
        learner = json.loads(self.booster.save_config())["learner"]  # small: no trees
        objective = str(learner["objective"]["name"])
        param = learner["learner_model_param"]
        n_class = int(param.get("num_class", "0"))
        if int(param.get("num_target", "1")) > 1:
            raise UnsupportedModelError("an XGBoost model with several targets is not supported")
        self.task = task or (CLASSIFIER if objective in _CLASSIFIER else REGRESSOR)
        if self.task == CLASSIFIER:
            k = max(2, n_class)
            self.labels = list(labels) if labels is not None else list(range(k))
            if len(self.labels) != k:
                raise UnsupportedModelError(f"the XGBoost model has {k} classes, not {len(self.labels)}")
        else:
            self.labels = []
        self.n_features = int(self.booster.num_features())
        names = self.booster.feature_names
        self.feature_names = list(names) if names else None
        self.margin_model = self.task == CLASSIFIER and objective in _CLASSIFIER
        self.identity_link = self.task == REGRESSOR and objective in _IDENTITY
        self.wrapper = wrapper
        self.missing = float(missing)
        base = np.asarray(_base_scores(str(param.get("base_score", "0"))), dtype=np.float64)
        if objective in _LOGISTIC:  # the margin of a probability, rounded to float32 as XGBoost keeps it
            base = np.log(base) - np.log1p(-base)
        self.params = {
            "objective": objective,
            "base_margin": base.astype(np.float32).astype(np.float64),
            "missing": self.missing,
            "softmax": objective == "multi:softmax",
            "linear": learner["gradient_booster"]["name"] == "gblinear",
        }

    @functools.cached_property
    def model_json(self) -> dict[str, Any]:
        """The whole JSON model (the trees), parsed when the tree scorer first reads it."""
        return dict(json.loads(self.raw))

    @classmethod
    def from_model(cls, model: Any, *, task: str | None, labels: list[Any] | None) -> XGBoostModel:
        import xgboost

        if isinstance(model, xgboost.Booster):
            return cls(bytes(model.save_raw("json")), task=task, labels=labels, wrapper="Booster")
        booster = model.get_booster()  # raises NotFittedError when it is not fitted
        best = booster.attr("best_iteration")
        if best is not None:  # the wrapper predicts with its best iteration (early stopping)
            booster = booster[: int(best) + 1]
        from sklearn.base import is_classifier

        classifier = is_classifier(model)
        missing = getattr(model, "missing", math.nan)
        return cls(
            bytes(booster.save_raw("json")),
            task=task or (CLASSIFIER if classifier else REGRESSOR),
            labels=labels if labels is not None else (list(model.classes_) if classifier else None),
            wrapper=type(model).__name__,
            missing=math.nan if missing is None else float(missing),
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, task: str, labels: list[Any] | None) -> XGBoostModel:
        return cls(data, task=task, labels=labels, wrapper="Booster")

    def to_bytes(self) -> bytes:
        return self.raw

    # -- outputs ------------------------------------------------------------------------------------------
    def _predict(self, x: np.ndarray, kind: str) -> np.ndarray:
        if self.params["linear"]:  # gblinear has no in-place prediction
            import xgboost

            dm = xgboost.DMatrix(x, missing=self.missing, feature_names=self.feature_names)
            return np.asarray(self.booster.predict(dm, output_margin=kind == "margin"))
        return np.asarray(self.booster.inplace_predict(x, predict_type=kind, missing=self.missing))

    def margin(self, x: np.ndarray) -> FloatArray:
        return self._predict(x, "margin").astype(np.float64).reshape(len(x), -1)

    def proba(self, x: np.ndarray) -> FloatArray:
        if self.params["softmax"]:  # multi:softmax predicts labels: its probabilities are the softmax
            m = self.margin(x)
            e = np.exp(m - m.max(axis=1, keepdims=True))
            return e / e.sum(axis=1, keepdims=True)
        p = self._predict(x, "value")
        if p.ndim == 1:  # binary: float32 as XGBClassifier.predict_proba stacks it
            p = np.vstack((1.0 - p, p)).T
        return p.astype(np.float64)

    def value(self, x: np.ndarray) -> FloatArray:
        return self._predict(x, "value").astype(np.float64).reshape(len(x))
