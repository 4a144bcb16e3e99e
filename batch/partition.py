"""One partition, wherever it runs: checksum, skip if complete, validate + explain, write atomically.

Both engines call :func:`process_partition` (the local engine in a worker process, Spark inside
``mapInPandas`` on an executor), so the output of a partition does not depend on the engine.  BLAS runs
on one thread in every worker (:func:`cached_explainer` loads under ``WORKER_THREADS``, and sets it
again on the libraries the model brought, ``scorers.threads``): a multi-threaded GEMM may sum in another order, and
the last bits of a SHAP value would then depend on how many threads the machine gave it.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import parts
from .checksum import frame_checksum
from .columns import check_clash, output_columns, output_frame, to_arrow
from .errors import BatchError, BatchInputError

EXPLAIN_CHUNK = 2048  # rows per explain call: bounds memory; a row's values do not depend on its batch

_EXPLAINERS: dict[str, Any] = {}
WORKER_THREADS = 1  # BLAS/OpenMP threads of a batch worker (the bits do not depend on the machine)


def cached_explainer(
    artifact_dir: str, artifact_id: str, *, trust_pickle: bool = False, expected_sha256: str | None = None
) -> Any:
    """The explainer of an artifact, loaded once per process (keyed by the artifact's manifest hash), with
    this process's numeric libraries, the model's included, limited to ``WORKER_THREADS``."""
    explainer = _EXPLAINERS.get(artifact_id)
    if explainer is None:
        import scorers
        from scorers.allocator import keep_freed_memory
        from scorers.threads import loaded_with_threads

        keep_freed_memory()  # each row's temporaries reused, not faulted in again (scorers.allocator)
        explainer = loaded_with_threads(
            WORKER_THREADS,
            lambda: scorers.load(artifact_dir, trust_pickle=trust_pickle, expected_sha256=expected_sha256),
        )
        _EXPLAINERS[artifact_id] = explainer
    return explainer


def _passthrough(frame: pd.DataFrame, id_column: str | None) -> pd.DataFrame:
    if id_column is None:
        return frame
    if id_column not in frame.columns:
        raise BatchError(
            f"--id-column '{id_column}' is not a column of the input; columns: {list(frame.columns)}"
        )
    return frame[[id_column]]


def explain_rows(
    explainer: Any, frame: pd.DataFrame, first_row: int, part: int, error_estimate: bool = False
) -> dict[str, Any]:
    """Predictions, probabilities and the explanation of a partition's rows, in chunks, with each row's
    error estimate when ``error_estimate`` (the per-row sigma as ``"errors"``, the whole
    ``scorers.errorbars.ErrorEstimate`` as ``"error_estimate"``; None when not asked).

    A row the validator rejects raises :class:`BatchInputError` with its row number in the input table.
    """
    import scorers
    from scorers.errorbars import ErrorEstimate

    features = set(explainer.features)
    x = frame[[c for c in frame.columns if c in features]]
    chunks: dict[str, list[Any]] = {"pred": [], "proba": [], "values": [], "outputs": [], "errors": []}
    base = np.asarray(explainer.expected_values, dtype=np.float64)
    for start in range(0, len(x), EXPLAIN_CHUNK):
        rows = x.iloc[start : start + EXPLAIN_CHUNK].reset_index(drop=True)
        try:
            exp = explainer.explain(rows, error_estimate=error_estimate)
            chunks["pred"].append(np.asarray(explainer.predict(rows)))
            if explainer.classes is not None:
                chunks["proba"].append(np.asarray(explainer.predict_proba(rows), dtype=np.float64))
        except scorers.InputError as exc:
            row = None if exc.row is None else first_row + start + exc.row
            raise BatchInputError(exc.detail, row, exc.field, part) from None
        chunks["values"].append(exp.values)
        chunks["outputs"].append(exp.outputs)
        if error_estimate:
            chunks["errors"].append(exp.error_estimate)
        base = np.asarray(exp.base_values, dtype=np.float64)
    k = len(explainer.classes) if explainer.classes is not None else 1
    m = len(explainer.features)
    estimate = ErrorEstimate.concat(chunks["errors"]) if chunks["errors"] else None
    return {
        "pred": np.concatenate(chunks["pred"]) if chunks["pred"] else np.empty(0, dtype=object),
        "proba": np.concatenate(chunks["proba"]) if chunks["proba"] else None,
        "values": np.concatenate(chunks["values"]) if chunks["values"] else np.empty((0, k, m)),
        "outputs": np.concatenate(chunks["outputs"]) if chunks["outputs"] else np.empty((0, k)),
        "base": base,
        "errors": estimate.rows if estimate is not None else np.empty(0),
        "error_estimate": estimate,
    }


def process_partition(
    explainer: Any,
    frame: pd.DataFrame,
    part: int,
    first_row: int,
    out_dir: str | Path,
    config_key: str,
    id_column: str | None = None,
    input_sha256: str | None = None,
    error_estimate: bool = False,
) -> dict[str, Any]:
    """Write part ``part`` of ``out_dir`` from ``frame`` (rows ``first_row ...`` of the input), with the
    ``error_estimate`` column when asked.

    Returns the part's record (see :mod:`batch.parts`) with ``"skipped": True`` when a complete part was
    already there.  The record holds ``abs_sum``, the (K, M) sum over the partition's rows of |SHAP|, from
    which the run's global explanation is computed exactly.
    """
    out = Path(out_dir)
    t0 = time.perf_counter()
    sha = input_sha256 or frame_checksum(frame)
    done = parts.complete_record(out, part, config_key, sha)
    if done is not None:
        return {**done, "skipped": True}
    cols = output_columns(explainer, error_estimate)
    passthrough = _passthrough(frame, id_column)
    check_clash(list(passthrough.columns), cols)
    res = explain_rows(explainer, frame, first_row, part, error_estimate)
    table = to_arrow(
        output_frame(
            passthrough,
            cols,
            res["pred"],
            res["proba"],
            res["base"],
            res["outputs"],
            res["values"],
            res["errors"],
        ),
        cols.metadata(explainer.output_space),
    )
    sink = io.BytesIO()
    import pyarrow.parquet as pq  # here: explain jobs (the serving image) use explain_rows without pyarrow

    pq.write_table(table, sink)
    data = sink.getvalue()
    final = out / parts.part_name(part)
    parts.write_atomic(final, data)
    values = res["values"]
    recon = res["base"][None, :] + values.sum(axis=2)
    record = {
        "part": part,
        "file": final.name,
        "first_row": first_row,
        "rows": len(frame),
        "input_sha256": sha,
        "output_sha256": hashlib.sha256(data).hexdigest(),
        "output_bytes": len(data),
        "config_key": config_key,
        "abs_sum": np.abs(values).sum(axis=0).tolist(),
        "max_additivity_error": float(np.max(np.abs(recon - res["outputs"]))) if len(values) else 0.0,
        "seconds": round(time.perf_counter() - t0, 4),
    }
    parts.write_json_atomic(parts.record_path(out, part), record)
    return {**record, "skipped": False}
