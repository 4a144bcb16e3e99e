"""What runs on a Spark executor: ``mapInPandas`` over Arrow batches sorted by row number.

Each Spark partition holds whole input partitions (the driver range-partitions on the partition index
and sorts by row), so the batches are cut where the partition index changes and each input partition
goes through :func:`batch.partition.process_partition` exactly as in the local engine.  A row the schema
rejects comes back as an error record rather than an exception, so the driver can name its row.

This module imports no pyspark at import time: cloudpickle ships the function by reference, and the
executor imports it from the installed package (or from the zip the driver shipped with ``addPyFile``).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pandas as pd

from .errors import BatchInputError
from .partition import cached_explainer, process_partition
from .plan import RunConfig
from .reader import parse_csv_numbers

ROW = "_shapserve_row"
PART = "_shapserve_part"
RESULT_SCHEMA = "part long, record string"

PandasIterFn = Callable[[Iterator[pd.DataFrame]], Iterator[pd.DataFrame]]


def _result(part: int, record: dict[str, Any]) -> pd.DataFrame:
    return pd.DataFrame({"part": [int(part)], "record": [json.dumps(record)]})


def _one(
    explainer: Any,
    frames: list[pd.DataFrame],
    cfg: RunConfig,
    out_dir: str,
    numeric: list[str],
    columns: list[str],
) -> pd.DataFrame:
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    frame = frame.sort_values(ROW, kind="stable")
    part = int(frame[PART].iloc[0])
    first_row = int(frame[ROW].iloc[0])
    if first_row != part * cfg.rows_per_task:
        raise RuntimeError(f"partition {part} starts at row {first_row}, expected {part * cfg.rows_per_task}")
    frame = frame[columns].reset_index(drop=True)
    if numeric:
        frame = parse_csv_numbers(frame, numeric)
    try:
        record = process_partition(
            explainer, frame, part, first_row, out_dir, cfg.key, cfg.id_column, None, cfg.error_estimate
        )
    except BatchInputError as exc:
        record = {"part": part, "error": exc.to_json()}
    return _result(part, record)


def make_partition_fn(
    artifact_name: str, cfg: RunConfig, out_dir: str, numeric: list[str], columns: list[str]
) -> PandasIterFn:
    """The function given to ``DataFrame.mapInPandas``; ``artifact_name`` is the name shipped by
    ``SparkContext.addFile``, ``columns`` the input columns in input order."""

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from pyspark import SparkFiles

        warnings.filterwarnings("ignore", message=".*PySpark does not yet fully support pandas.*")
        explainer = cached_explainer(
            SparkFiles.get(artifact_name),
            cfg.artifact_id,
            trust_pickle=cfg.trust_pickle,
            expected_sha256=cfg.expected_sha256,
        )
        held: list[pd.DataFrame] = []
        current: int | None = None
        for batch in batches:
            for part, group in batch.groupby(PART, sort=True):
                if current is not None and int(part) != current:
                    yield _one(explainer, held, cfg, out_dir, numeric, columns)
                    held = []
                current = int(part)
                held.append(group)
        if held:
            yield _one(explainer, held, cfg, out_dir, numeric, columns)

    return run
