"""The output schema: which columns a part file holds, in which order, and how they are built.

Wide layout, one column per (class, feature): ``shap__<class>__<feature>``.  docs/batch.md says why
(readable in any tool; Parquet reads one feature's column without the others; the names are also stored
in order in the file's metadata and in ``_manifest.json`` so that no reader has to parse them).
Regressors have one output and no class in the names: ``shap__<feature>``, ``expected_value``,
``explained_output``.  With ``--error-estimate``, a last column ``error_estimate``: each row's error
estimate (``/explain``'s ``error_estimate.rows``, the per-row sigma; scorers.errorbars).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    import pyarrow as pa

LAYOUT_VERSION = 1
METADATA_KEY = b"shapserve.batch"
PREDICTION = "prediction"
ERROR_ESTIMATE = "error_estimate"


@dataclass(frozen=True)
class OutputColumns:
    """Column names of the computed part of an output row (the pass-through columns come first)."""

    classes: list[str] | None  # class labels as text, None for a regressor
    features: list[str]
    error_estimate: bool = False  # the per-row error estimate column

    @property
    def outputs(self) -> list[str]:
        """One label per explained output: the classes, or ``[""]`` for a regressor."""
        return self.classes if self.classes is not None else [""]

    def _suffix(self, k: int) -> str:
        return "" if self.classes is None else f"_{self.outputs[k]}"

    @property
    def probabilities(self) -> list[str]:
        return [] if self.classes is None else [f"probability_{c}" for c in self.classes]

    @property
    def expected(self) -> list[str]:
        return [f"expected_value{self._suffix(k)}" for k in range(len(self.outputs))]

    @property
    def explained(self) -> list[str]:
        return [f"explained_output{self._suffix(k)}" for k in range(len(self.outputs))]

    @property
    def shap(self) -> list[str]:
        """Class-major: the column of (class k, feature j) is at position ``k * M + j``."""
        if self.classes is None:
            return [f"shap__{f}" for f in self.features]
        return [f"shap__{c}__{f}" for c in self.classes for f in self.features]

    @property
    def computed(self) -> list[str]:
        errors = [ERROR_ESTIMATE] if self.error_estimate else []
        return [PREDICTION, *self.probabilities, *self.expected, *self.explained, *self.shap, *errors]

    def metadata(self, output_space: str) -> dict[str, Any]:
        return {
            "layout": LAYOUT_VERSION,
            "features": self.features,
            "classes": self.classes,
            "output_space": output_space,
            "shap_columns": self.shap,
            "shap_order": "class-major: shap_columns[k * len(features) + j] is class k, feature j",
            "error_estimate_column": ERROR_ESTIMATE if self.error_estimate else None,
        }


def output_columns(explainer: Any, error_estimate: bool = False) -> OutputColumns:
    classes = explainer.classes
    names = None if classes is None else [str(c) for c in classes]
    return OutputColumns(names, list(explainer.features), error_estimate)


def check_clash(passthrough: list[str], cols: OutputColumns) -> None:
    """A pass-through column may not share a name with a computed one."""
    from .errors import BatchError

    clash = sorted(set(passthrough) & set(cols.computed))
    if clash:
        raise BatchError(
            f"input column(s) {clash} clash with output columns of the same name; "
            "pass --id-column to keep only one identifying column"
        )


def output_frame(
    passthrough: pd.DataFrame,
    cols: OutputColumns,
    predictions: npt.NDArray[Any],
    probabilities: npt.NDArray[np.float64] | None,
    base_values: npt.NDArray[np.float64],
    outputs: npt.NDArray[np.float64],
    values: npt.NDArray[np.float64],
    errors: npt.NDArray[np.float64] | None = None,
) -> pd.DataFrame:
    """The rows of one part: pass-through, prediction, probabilities, expected/explained, SHAP values,
    and each row's error estimate when the columns have it.

    ``values`` is (n, K, M), ``outputs`` (n, K), ``base_values`` (K,), ``probabilities`` (n, K) or None,
    ``errors`` (n,) or None.
    """
    n, k_out, m = values.shape
    data: dict[str, Any] = {c: passthrough[c].to_numpy() for c in passthrough.columns}
    data[PREDICTION] = np.asarray(predictions)
    if probabilities is not None:
        for k, name in enumerate(cols.probabilities):
            data[name] = probabilities[:, k]
    for k, name in enumerate(cols.expected):
        data[name] = np.full(n, base_values[k], dtype=np.float64)
    for k, name in enumerate(cols.explained):
        data[name] = outputs[:, k]
    flat = values.reshape(n, k_out * m)
    for idx, name in enumerate(cols.shap):
        data[name] = flat[:, idx]
    if cols.error_estimate:
        assert errors is not None, "the error estimate column needs the rows' estimates"
        data[ERROR_ESTIMATE] = errors
    return pd.DataFrame(data, copy=False)


def to_arrow(frame: pd.DataFrame, metadata: dict[str, Any]) -> pa.Table:
    import pyarrow as pa  # here: the serving image's explain jobs use this module without pyarrow

    """Arrow table with plain types (every text column as ``string``), so parts written by either
    engine share one schema, and the output metadata under ``shapserve.batch``."""
    table = pa.Table.from_pandas(frame, preserve_index=False)
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_large_string(t) or pa.types.is_string_view(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    schema = pa.schema(fields, metadata={METADATA_KEY: json.dumps(metadata).encode()})
    return table.cast(schema)


def shap_values_of(frame: pd.DataFrame, cols: OutputColumns) -> npt.NDArray[np.float64]:
    """Read the (n, K, M) SHAP values back out of an output frame."""
    flat = frame[cols.shap].to_numpy(dtype=np.float64)
    return flat.reshape(len(frame), len(cols.outputs), len(cols.features))
