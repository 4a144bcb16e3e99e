"""The model-runtime contract: the user's model as a function of raw rows.

A runtime answers what the model is (``task``, ``classes``), predicts on validated raw rows, and says
how coalitions can be masked in front of it: which masking modes it offers, the encoder of raw rows for
a mode, the *head* that sees the encoded rows (None for a black box), and the model's output in an output
space on hybrids encoded for a mode.  One module per backend implements it (``sklearn``, ``onnx``); the
choice is made once at fit (``scorers.runtimes.wrap``) and replayed from the manifest at load.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..input_schema import NUMBER, Schema

FloatArray = npt.NDArray[np.float64]
OutputFn = Callable[[Any], FloatArray]

CLASSIFIER = "classifier"
REGRESSOR = "regressor"


class ModelRuntime(Protocol):
    """What the engine asks of a model backend."""

    name: str  # the prediction runtime recorded in the manifest
    format: str  # the model file format the artifact stores (skops, joblib, onnx)
    task: str
    classes: list[Any]
    schema: Schema

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Labels (classifiers) or values (regressors) of validated raw rows."""

    def predict_proba(self, frame: pd.DataFrame) -> FloatArray:
        """(n, K) class probabilities of validated raw rows (classifiers only)."""

    def masking_modes(self) -> list[tuple[str, str]]:
        """(mode, reason) pairs this model allows, best first; ``grouped`` is measured before it is used."""

    def encoder(self, mode: str) -> tuple[Callable[[pd.DataFrame], np.ndarray], Any]:
        """(raw rows -> encoded matrix for masking, head estimator on that matrix or None)."""

    def output(self, space: str, mode: str, n_classes: int) -> OutputFn:
        """The model in ``space`` on hybrids encoded for ``mode`` (the head's input, or raw values)."""

    def encoded_names(self) -> list[str] | None:
        """Names of the engineered columns of a preprocessor, where it has them."""


def quiet(fn: Callable[..., Any], *args: Any) -> Any:
    """Call ``fn`` without scikit-learn's feature-name warnings: heads are fed arrays on purpose."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*valid feature names.*")
        warnings.filterwarnings("ignore", message=".*feature names.*")
        return fn(*args)


def raw_frame(values: np.ndarray, schema: Schema) -> pd.DataFrame:
    """An object array of raw hybrids back to a typed DataFrame."""
    data = {}
    for j, feat in enumerate(schema.features):
        col = values[:, j]
        data[feat.name] = col.astype(np.float64) if feat.dtype == NUMBER else col
    return pd.DataFrame(data, columns=schema.names)


def time_call(fn: Callable[[Any], Any], arg: Any, repeat: int = 3) -> float:
    """Best of ``repeat`` wall times of ``fn(arg)`` in seconds."""
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(arg)
        best = min(best, time.perf_counter() - t0)
    return best
