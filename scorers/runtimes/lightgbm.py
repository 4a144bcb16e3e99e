"""The LightGBM backend: a ``lightgbm.Booster`` or ``LGBMClassifier`` / ``LGBMRegressor``, stored as
LightGBM's own model text (``model_to_string``: a plain-text file of trees, no code).

The booster is always rebuilt from that text (the best iteration only, as both the booster and the
wrapper predict by default), so packaging and serving evaluate the same trees.  LightGBM reads float64
inputs and compares them with float64 thresholds, and it sums its trees in float64.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ..errors import UnsupportedModelError
from .base import CLASSIFIER, REGRESSOR, FloatArray
from .native_booster import NativeBooster

# objectives whose prediction is the raw sum of the trees
_IDENTITY = frozenset(
    {"regression", "regression_l1", "huber", "fair", "quantile", "mape", "lambdarank", "rank_xendcg"}
)
_CLASSIFIER = frozenset({"binary", "multiclass", "multiclassova"})


def _header(text: str) -> dict[str, str]:
    """The ``key=value`` lines before the first tree of a LightGBM model text (objective, num_class)."""
    out = {}
    for line in text.splitlines():
        if line.startswith("Tree="):
            break
        key, sep, value = line.partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out


class LightGBMModel(NativeBooster):
    library = "lightgbm"
    format = "lightgbm"
    suffix = ".txt"

    def __init__(self, text: str, *, task: str | None, labels: list[Any] | None, wrapper: str) -> None:
        import lightgbm

        self.text = text
        self.booster = lightgbm.Booster(model_str=text)
        header = _header(text)
        words = header.get("objective", "").split()
        objective = words[0] if words else "custom"
        options = dict(w.split(":", 1) for w in words[1:] if ":" in w)
        if self.booster.pandas_categorical:
            raise UnsupportedModelError(
                "the LightGBM model was trained on pandas categorical columns; shapserve feeds it numbers. "
                "Train it on integer codes (categorical_feature=...) or put an encoder in a Pipeline before it"
            )
        self.task = task or (CLASSIFIER if objective in _CLASSIFIER else REGRESSOR)
        n_class = int(header.get("num_class", "1"))
        if self.task == CLASSIFIER:
            k = max(2, n_class)
            self.labels = list(labels) if labels is not None else list(range(k))
            if len(self.labels) != k:
                raise UnsupportedModelError(f"the LightGBM model has {k} classes, not {len(self.labels)}")
        else:
            if n_class > 1:
                raise UnsupportedModelError("a LightGBM regressor with several outputs is not supported")
            self.labels = []
        self.n_features = int(self.booster.num_feature())
        names = list(self.booster.feature_name())
        generic = [f"Column_{j}" for j in range(self.n_features)]
        self.feature_names = None if names == generic else names
        self.margin_model = self.task == CLASSIFIER and objective in ("binary", "multiclass")
        self.identity_link = self.task == REGRESSOR and objective in _IDENTITY and "sqrt" not in words
        self.wrapper = wrapper
        # log-odds of a binary model = sigmoid * raw score (LightGBM's ``sigmoid`` parameter)
        scale = float(options.get("sigmoid", 1.0)) if objective == "binary" else 1.0
        self.params = {"objective": objective, "margin_scale": scale}

    @functools.cached_property
    def dump(self) -> dict[str, Any]:
        """``dump_model()``: the trees as JSON, built when the tree scorer first reads them."""
        return dict(self.booster.dump_model())

    @classmethod
    def from_model(cls, model: Any, *, task: str | None, labels: list[Any] | None) -> LightGBMModel:
        import lightgbm

        if isinstance(model, lightgbm.Booster):
            return cls(model.model_to_string(), task=task, labels=labels, wrapper="Booster")
        booster = getattr(model, "booster_", None)  # a fitted LGBMModel; raises when it is not fitted
        if booster is None:
            raise UnsupportedModelError(f"{type(model).__name__} is not fitted")
        from sklearn.base import is_classifier

        classifier = is_classifier(model)
        return cls(
            booster.model_to_string(),
            task=task or (CLASSIFIER if classifier else REGRESSOR),
            labels=labels if labels is not None else (list(model.classes_) if classifier else None),
            wrapper=type(model).__name__,
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, task: str, labels: list[Any] | None) -> LightGBMModel:
        return cls(data.decode("utf-8"), task=task, labels=labels, wrapper="Booster")

    def to_bytes(self) -> bytes:
        return self.text.encode("utf-8")

    # -- outputs ------------------------------------------------------------------------------------------
    def _predict(self, x: np.ndarray, **kw: Any) -> np.ndarray:
        return np.asarray(self.booster.predict(x, num_threads=1, **kw), dtype=np.float64)

    def margin(self, x: np.ndarray) -> FloatArray:
        raw = self._predict(x, raw_score=True).reshape(len(x), -1)
        return raw * self.params["margin_scale"]

    def proba(self, x: np.ndarray) -> FloatArray:
        p = self._predict(x)
        if p.ndim == 1:  # binary: the positive class, as LGBMClassifier.predict_proba stacks it
            return np.vstack((1.0 - p, p)).T
        return p

    def value(self, x: np.ndarray) -> FloatArray:
        return self._predict(x).reshape(len(x))
