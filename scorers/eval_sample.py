"""The evaluation rows' SHAP sample, explained once at packaging: the dashboard's SHAP views (aggregate
importance, dependence) use a fixed random sample of a data set's rows, and for the evaluation rows it
depends on nothing a served worker adds, so ``shapserve package --eval-data`` explains it and stores it.

- :func:`fixed_order`: the one fixed random order of n rows (and each row's rank); every sample of the
  dashboard takes the rows of lowest rank, so the sample of ``S`` rows is ``order[:S]`` for any ``S``;
- :data:`SAMPLE_ROWS`: how many rows packaging explains (the dashboard's default sample,
  ``SHAPSERVE_DASHBOARD_SHAP_ROWS``);
- ``eval_shap_sample.npy`` (:data:`FILE`): their SHAP values (S, K, M) float64 as ``explain_frame``
  answers them, in the order's order (no pickle; listed in the manifest with its sha256 like every file,
  ``evaluation.shap_sample_file``).

A served worker uses them (:func:`checked`) only when the stored predictions were used (the serving
library versions are the packaging ones and the model agrees on the checked rows) and the explainer
gives the same values, within 1e-9, on the sample's first :data:`CHECKED` rows; otherwise the sample is
explained in the worker as before.  A row's values do not depend on the rows explained with it
(``ScoringExplainer.explain_frame``), so the stored values are the ones the worker would compute.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from .errors import ArtifactError

if TYPE_CHECKING:
    from .scoring_explainer import ScoringExplainer

FILE = "eval_shap_sample.npy"
SAMPLE_ROWS = 2000
CHECKED = 2  # the sample's first rows a worker explains again before it uses the stored values
CHUNK = 1000  # rows per explain_frame call at packaging

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def fixed_order(n: int) -> tuple[IntArray, IntArray]:
    """A fixed random order of n rows and each row's rank in it."""
    order = np.random.default_rng(0).permutation(n).astype(np.int64)
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n, dtype=np.int64)
    return order, rank


def explain(explainer: ScoringExplainer, frame: pd.DataFrame, rows: int = SAMPLE_ROWS) -> FloatArray:
    """SHAP values (S, K, M) of the first ``rows`` rows of ``frame`` in the fixed order (validated rows)."""
    ids = fixed_order(len(frame))[0][: min(rows, len(frame))]
    parts = [
        explainer.explain_frame(frame.iloc[ids[i : i + CHUNK]]).values for i in range(0, len(ids), CHUNK)
    ]
    return np.concatenate(parts).astype(np.float64, copy=False)


def write(directory: Path, values: FloatArray) -> None:
    np.save(directory / FILE, np.ascontiguousarray(values, dtype=np.float64), allow_pickle=False)


def read(path: Path, sha256: str | None) -> FloatArray:
    """The stored values, their checksum checked (the file is read after the artifact was loaded)."""
    from .model_io import sha256_file

    if not path.is_file() or sha256_file(path) != sha256:
        raise ArtifactError(f"artifact file '{path.name}' is missing or fails its checksum")
    try:
        values = np.load(path, allow_pickle=False)
    except ValueError as e:
        raise ArtifactError(f"artifact file '{path.name}' is not a numpy array: {e}") from e
    if values.ndim != 3 or values.dtype != np.float64:
        raise ArtifactError(f"artifact file '{path.name}': expected float64 values (rows, outputs, features)")
    return np.asarray(values)


def checked(explainer: ScoringExplainer, stored: FloatArray, first: pd.DataFrame) -> FloatArray | None:
    """``stored`` when the explainer gives the same values on ``first``, the sample's first
    :data:`CHECKED` rows (validated), else None."""
    live = explainer.explain_frame(first).values
    head = stored[: len(first)]
    if not len(first) or live.shape != head.shape or not np.allclose(live, head, rtol=1e-9, atol=1e-12):
        return None
    return stored
