"""The Spark engine: the input read by Spark, rows explained on executors with ``mapInPandas``.

The artifact directory is shipped to the executors with ``SparkContext.addFile(dir, recursive=True)``
and found there with ``SparkFiles.get``; the ``scorers`` and ``batch`` packages are shipped as a zip with
``addPyFile`` when the executors cannot import them (their compiled dependencies, numpy, scikit-learn,
onnxruntime, must be installed on the cluster: install the shapserve wheel there).  Part files are
written by the executors, so the output directory must be a path that the driver and every executor
see (local disk for ``local[*]``; a shared mount on a cluster, see docs/batch.md).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import warnings
import zipfile
from pathlib import Path
from typing import Any

from . import parts
from .errors import BatchError, BatchInputError
from .partition import cached_explainer
from .plan import (
    RunConfig,
    RunResult,
    check_columns,
    finalize,
    first_error,
    numeric_features,
    prepare,
    stage_artifact,
)
from .progress import Poller, bar, now
from .reader import CSV, input_format
from .spark_worker import PART, RESULT_SCHEMA, ROW, make_partition_fn

DEFAULT_MASTER = "local[*]"
_MID = "_shapserve_mid"
_PANDAS3_WARNING = ".*PySpark does not yet fully support pandas.*"


def is_local(master: str) -> bool:
    return master.startswith("local")


def session(master: str = DEFAULT_MASTER, app_name: str = "shapserve-explain-batch") -> Any:
    """A SparkSession for ``master``.  A local master binds to 127.0.0.1 with the UI off, and its
    Python workers run this interpreter (unless ``PYSPARK_PYTHON`` says otherwise)."""
    from pyspark.sql import SparkSession

    warnings.filterwarnings("ignore", message=_PANDAS3_WARNING)
    builder = SparkSession.builder
    if not (master == DEFAULT_MASTER and "PYSPARK_GATEWAY_PORT" in os.environ):
        builder = builder.master(master)  # under spark-submit, its --master decides unless one is given
    builder = (
        builder.appName(app_name)
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .config("spark.ui.showConsoleProgress", "false")  # our bar counts rows; Spark's counts tasks
    )
    if is_local(master) and "PYSPARK_GATEWAY_PORT" not in os.environ:
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "4")
        )
    return builder.getOrCreate()


def executors_can_import(spark: Any, modules: tuple[str, ...] = ("scorers", "batch")) -> bool:
    """Ask one executor whether it can import ``modules`` (one tiny job)."""

    def probe(_: Any) -> bool:
        import importlib.util

        return all(importlib.util.find_spec(m) is not None for m in modules)

    return bool(spark.sparkContext.parallelize([0], 1).map(probe).collect()[0])


def code_zip(dest_dir: str | Path) -> Path:
    """A zip of the ``scorers`` and ``batch`` packages (Python sources and data files) for ``addPyFile``."""
    import batch
    import scorers

    dest = Path(dest_dir) / "shapserve-code.zip"
    tmp = dest.with_name(".shapserve-code.zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in (scorers, batch):
            root = Path(str(pkg.__file__)).resolve().parent
            for path in sorted(root.rglob("*")):
                if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                    zf.write(path, f"{root.name}/{path.relative_to(root).as_posix()}")
    tmp.replace(dest)
    return dest


def read_input(spark: Any, input_path: str, fmt: str) -> Any:
    """The input as a Spark DataFrame; CSV as text columns (header row, RFC 4180 quotes)."""
    if fmt == CSV:
        return spark.read.option("header", True).option("escape", '"').csv(input_path)
    return spark.read.parquet(input_path)


def number_rows(df: Any, rows_per_task: int) -> tuple[Any, int]:
    """Add the input row number (0-based, in Spark's scan order: file order for one file) and the
    partition index; returns the frame and the row count.  Pure JVM: a count per Spark partition, then
    offsets, as ``zipWithIndex`` does, without moving rows through Python."""
    from pyspark.sql import functions as F

    df = df.withColumn(_MID, F.monotonically_increasing_id())
    spark_part = F.shiftright(F.col(_MID), 33)
    counts = sorted(
        (int(r["p"]), int(r["count"])) for r in df.groupBy(spark_part.alias("p")).count().collect()
    )
    offsets, total = [], 0
    for p, c in counts:
        offsets += [F.lit(p), F.lit(total)]
        total += c
    if not counts:
        return df.withColumn(ROW, F.lit(0).cast("long")).withColumn(PART, F.lit(0).cast("long")), 0
    row = F.element_at(F.create_map(*offsets), spark_part) + F.col(_MID).bitwiseAND((1 << 33) - 1)
    df = df.withColumn(ROW, row.cast("long"))
    df = df.withColumn(PART, F.floor(F.col(ROW) / F.lit(rows_per_task)).cast("long")).drop(_MID)
    return df, total


def _records_since(out: Path, since: float) -> int:
    rows = 0
    for p in (out / parts.PARTS_DIR).glob("part-*.json"):
        try:
            if p.stat().st_mtime >= since:
                rows += int(json.loads(p.read_text()).get("rows", 0))
        except (OSError, ValueError):
            continue
    return rows


def explain_table(
    spark: Any,
    input_path: str | Path,
    output_dir: str | Path,
    artifact_dir: str | Path,
    *,
    rows_per_task: int = 10_000,
    id_column: str | None = None,
    trust_pickle: bool = False,
    expected_sha256: str | None = None,
    ship_code: bool | None = None,
    progress: bool = True,
    stage_dir: str | Path | None = None,
    error_estimate: bool = False,
) -> RunResult:
    """Explain every row of ``input_path`` on the cluster of ``spark`` into the part directory
    ``output_dir`` (same plan, parts and global explanation as :func:`batch.explain_table_local`).

    ``ship_code``: True always ships the ``scorers``/``batch`` zip, False never, None asks an executor.
    ``error_estimate``: a last column with each row's error estimate (batch.columns).
    """
    t0, wall0 = now(), time.time()
    warnings.filterwarnings("ignore", message=_PANDAS3_WARNING)
    if rows_per_task < 1:
        raise BatchError(f"--rows-per-task must be at least 1, got {rows_per_task}")
    fmt = input_format(input_path)
    cfg = RunConfig.of(
        artifact_dir, fmt, rows_per_task, id_column, trust_pickle, expected_sha256, error_estimate
    )
    ident = cfg.artifact_id
    explainer = cached_explainer(
        cfg.artifact_dir, ident, trust_pickle=trust_pickle, expected_sha256=expected_sha256
    )
    out = prepare(output_dir).resolve()
    sc = spark.sparkContext
    stage_root = Path(stage_dir or Path(tempfile.gettempdir()) / "shapserve-batch-stage")
    stage_root.mkdir(parents=True, exist_ok=True)
    staged = stage_artifact(artifact_dir, ident, stage_root)
    sc.addFile(str(staged), recursive=True)
    if ship_code or (ship_code is None and not executors_can_import(spark)):
        sc.addPyFile(str(code_zip(stage_root)))
    df = read_input(spark, str(input_path), fmt)
    columns = list(df.columns)
    check_columns(columns, id_column, explainer, error_estimate)
    df, n_rows = number_rows(df, rows_per_task)
    n_parts = -(-n_rows // rows_per_task)
    df = df.repartitionByRange(max(n_parts, 1), PART).sortWithinPartitions(ROW)
    fn = make_partition_fn(
        staged.name, cfg, str(out), numeric_features(staged) if fmt == CSV else [], columns
    )
    pbar = bar(n_rows, "spark", progress)
    try:
        with pbar:
            with Poller(pbar, lambda: _records_since(out, wall0)):
                rows = df.mapInPandas(fn, RESULT_SCHEMA).collect()
            pbar.update(max(0, n_rows - pbar.n))  # the parts reused, which wrote no new record
    except Exception as exc:
        if type(exc).__module__.startswith(("py4j", "pyspark")):
            raise BatchError(f"the Spark job failed: {str(exc)[-3000:]}") from exc
        raise
    records = [json.loads(r["record"]) for r in rows]
    errors = [BatchInputError(**{**e["error"]}) for e in records if "error" in e]
    if errors:
        raise first_error(errors)
    return finalize(
        out, cfg, explainer, records, input_path=str(input_path), engine="spark", seconds=now() - t0
    )
