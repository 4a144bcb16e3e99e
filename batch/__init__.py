"""Whole-table explanations: predictions and SHAP values for every row of a Parquet or CSV table.

>>> import batch
>>> batch.explain_table_local("IN.parquet", "OUT.parquet", "artifact/")          # doctest: +SKIP
>>> batch.spark.explain_table(spark, "IN.parquet", "/dbfs/out.parquet", "artifact/")  # doctest: +SKIP

The plan (partitions of ``rows_per_task`` rows, one atomic part file each, resumable) is the same for
every engine; an engine only decides where :func:`batch.partition.process_partition` runs.
See docs/batch.md.
"""

from __future__ import annotations

from .errors import BatchError, BatchInputError
from .local import explain_table_local
from .plan import RunConfig, RunResult

__all__ = ["BatchError", "BatchInputError", "RunConfig", "RunResult", "explain_table_local"]
