"""The Spark engine on a real local Spark (local[2], one session for the whole test session)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from batch_helpers import reference
from test_cli import parse
from test_local import check_output, mtimes

import scorers
from batch import BatchInputError, explain_table_local, parts
from batch.cli import run
from batch.spark import code_zip, explain_table

ROOT = Path(__file__).resolve().parents[2]


def test_loan_table_on_spark_equals_the_local_engine_part_for_part(
    tmp_path: Path, spark: Any, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    loan_table.to_parquet(tmp_path / "in.parquet")
    result = explain_table(
        spark, tmp_path / "in.parquet", tmp_path / "spark.parquet", loan_artifact, rows_per_task=700
    )
    assert (result.n_parts, result.computed_parts) == (5, 5)
    check_output(tmp_path / "spark.parquet", loan_artifact, loan_table, features_from=1)
    explain_table_local(
        tmp_path / "in.parquet", tmp_path / "local.parquet", loan_artifact, rows_per_task=700, workers=1
    )
    manifests = [
        json.loads((tmp_path / d / parts.MANIFEST).read_text()) for d in ("spark.parquet", "local.parquet")
    ]
    # same input checksums, and byte-identical part files, whichever engine wrote them
    assert manifests[0]["parts"] == manifests[1]["parts"]
    globals_ = [
        json.loads((tmp_path / d / parts.GLOBAL).read_text()) for d in ("spark.parquet", "local.parquet")
    ]
    assert globals_[0] == globals_[1]
    before = mtimes(tmp_path / "spark.parquet")
    again = explain_table(
        spark, tmp_path / "in.parquet", tmp_path / "spark.parquet", loan_artifact, rows_per_task=700
    )
    assert (again.computed_parts, again.reused_parts) == (0, 5) and mtimes(
        tmp_path / "spark.parquet"
    ) == before


def test_seed_svc_on_spark_exact(
    tmp_path: Path, spark: Any, svc_artifact: Path, svc_table: pd.DataFrame
) -> None:
    svc_table.to_parquet(tmp_path / "in.parquet")
    result = explain_table(
        spark, tmp_path / "in.parquet", tmp_path / "out.parquet", svc_artifact, rows_per_task=100
    )
    assert result.computed_parts == 3
    check_output(tmp_path / "out.parquet", svc_artifact, svc_table)


def test_error_estimate_column_on_spark(
    tmp_path: Path, spark: Any, svc_artifact: Path, svc_table: pd.DataFrame
) -> None:
    """The Spark engine writes the same ``error_estimate`` column as the in-process explainer (the local
    engine's is checked in test_local.py)."""
    table = svc_table.iloc[:60]
    table.to_parquet(tmp_path / "in.parquet")
    explain_table(
        spark,
        tmp_path / "in.parquet",
        tmp_path / "out.parquet",
        svc_artifact,
        rows_per_task=40,
        error_estimate=True,
    )
    out = check_output(tmp_path / "out.parquet", svc_artifact, table)
    exp = reference(scorers.load(svc_artifact), table)
    assert out.columns[-1] == "error_estimate"
    assert np.array_equal(out["error_estimate"].to_numpy(), exp.error_estimate.rows)


def test_csv_on_spark_resumes_a_local_run_and_ships_the_code_zip(
    tmp_path: Path, spark: Any, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    loan_table.to_csv(tmp_path / "in.csv", index=False)
    out_dir = tmp_path / "out.parquet"
    explain_table_local(tmp_path / "in.csv", out_dir, loan_artifact, rows_per_task=600, workers=1)
    for name in ("part-00001", "part-00003"):  # as if the local run had been stopped before these parts
        (out_dir / f"{name}.parquet").unlink()
        (out_dir / parts.PARTS_DIR / f"{name}.json").unlink()
    before = mtimes(out_dir)
    result = explain_table(
        spark, tmp_path / "in.csv", out_dir, loan_artifact, rows_per_task=600, ship_code=True
    )
    assert (result.computed_parts, result.reused_parts) == (2, 3)
    after = mtimes(out_dir)
    assert all(after[k] == v for k, v in before.items())
    check_output(out_dir, loan_artifact, loan_table, features_from=1)


def test_bad_row_on_spark_is_named_by_row_and_field(
    tmp_path: Path, spark: Any, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    bad = loan_table.copy()
    bad["debt_ratio"] = bad["debt_ratio"].astype(object)
    bad.loc[2222, "debt_ratio"] = "high"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    with pytest.raises(BatchInputError) as info:
        explain_table(spark, tmp_path / "bad.csv", tmp_path / "out.parquet", loan_artifact, rows_per_task=500)
    assert (info.value.row, info.value.field, info.value.part) == (2222, "debt_ratio", 4)
    assert "'high'" in str(info.value)
    assert not (tmp_path / "out.parquet" / parts.SUCCESS).exists()


def test_code_zip_imports_scorers_and_batch_from_the_zip(tmp_path: Path) -> None:
    zip_path = code_zip(tmp_path)
    script = f"import sys; sys.path.insert(0, {str(zip_path)!r}); import scorers, batch.spark_worker; print(scorers.__file__)"
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip().startswith(str(zip_path))


def test_run_with_the_spark_engine_uses_the_active_session_and_leaves_it_running(
    tmp_path: Path,
    spark: Any,
    loan_artifact: Path,
    loan_table: pd.DataFrame,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The command's run() on the session a notebook would have; ``python -m batch`` starts its own
    (tests/batch/test_cli.py runs the module in a process, with the local engine)."""
    loan_table.iloc[:1000].to_parquet(tmp_path / "in.parquet")
    argv = ["explain-batch", str(loan_artifact), "--input", str(tmp_path / "in.parquet")]
    argv += ["--output", str(tmp_path / "out.parquet"), "--engine", "spark", "--rows-per-task", "400"]
    assert run(parse(argv)) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert (summary["engine"], summary["parts"], summary["rows"]) == ("spark", 3, 1000)
    assert "row/s" in captured.err  # the progress bar's rate
    check_output(tmp_path / "out.parquet", loan_artifact, loan_table.iloc[:1000], features_from=1)
    assert spark.sparkContext.parallelize([1, 2]).sum() == 3  # still running
