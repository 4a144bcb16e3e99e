"""The local engine with real worker processes: exact values, additivity, reuse, resume, bad rows."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_helpers import reference
from sklearn.linear_model import Ridge

import scorers
from batch import BatchInputError, explain_table_local, parts
from batch.columns import output_columns, shap_values_of
from batch.plan import RunConfig


def check_output(out_dir: Path, artifact: Path, table: pd.DataFrame, features_from: int = 0) -> pd.DataFrame:
    """The output equals the in-process explainer row for row, and is additive to 1e-6."""
    explainer = scorers.load(artifact)
    cols = output_columns(explainer)
    out = pd.read_parquet(out_dir)
    x = table.iloc[:, features_from:]
    exp = reference(explainer, x)
    assert len(out) == len(table)
    assert np.array_equal(shap_values_of(out, cols), exp.values)
    assert np.array_equal(out[cols.explained].to_numpy(), exp.outputs)
    assert np.array_equal(out[cols.expected].to_numpy()[0], exp.base_values)
    assert np.array_equal(out["prediction"].to_numpy(), np.asarray(explainer.predict(x)))
    if cols.classes is not None:
        assert np.array_equal(out[cols.probabilities].to_numpy(), explainer.predict_proba(x))
    recon = out[cols.expected].to_numpy() + shap_values_of(out, cols).sum(axis=2)
    np.testing.assert_allclose(recon, out[cols.explained].to_numpy(), rtol=0, atol=1e-6)
    glob = json.loads((out_dir / parts.GLOBAL).read_text())
    np.testing.assert_allclose(glob["per_class"], np.abs(exp.values).mean(axis=0), rtol=1e-12)
    assert glob["n_rows"] == len(table)
    assert (out_dir / parts.SUCCESS).exists()
    return out


def mtimes(out_dir: Path) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in sorted(out_dir.glob("part-*.parquet"))}


def test_loan_table_mixed_types_exact_then_rerun_reuses_every_part(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    loan_table.to_parquet(tmp_path / "in.parquet")
    out_dir = tmp_path / "out.parquet"
    first = explain_table_local(tmp_path / "in.parquet", out_dir, loan_artifact, rows_per_task=700, workers=2)
    assert (first.n_parts, first.computed_parts, first.reused_parts) == (5, 5, 0)
    out = check_output(out_dir, loan_artifact, loan_table, features_from=1)
    assert out.columns[:8].tolist() == loan_table.columns.tolist()  # input columns passed through
    assert out["application_id"].tolist() == loan_table["application_id"].tolist()
    manifest = json.loads((out_dir / parts.MANIFEST).read_text())
    assert [p["rows"] for p in manifest["parts"]] == [700, 700, 700, 700, 200]
    before = mtimes(out_dir)
    again = explain_table_local(tmp_path / "in.parquet", out_dir, loan_artifact, rows_per_task=700, workers=2)
    assert (again.computed_parts, again.reused_parts) == (0, 5)
    assert mtimes(out_dir) == before
    assert again.global_json == first.global_json


def test_seed_svc_exact_with_two_workers(tmp_path: Path, svc_artifact: Path, svc_table: pd.DataFrame) -> None:
    svc_table.to_parquet(tmp_path / "in.parquet")
    result = explain_table_local(
        tmp_path / "in.parquet", tmp_path / "out.parquet", svc_artifact, rows_per_task=100, workers=2
    )
    assert result.computed_parts == 3
    out = check_output(tmp_path / "out.parquet", svc_artifact, svc_table)
    assert "error_estimate" not in out.columns  # only when asked


def test_csv_input_gives_the_parquet_values(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    loan_table.to_csv(tmp_path / "in.csv", index=False)
    explain_table_local(
        tmp_path / "in.csv", tmp_path / "out.parquet", loan_artifact, rows_per_task=1000, workers=1
    )
    check_output(tmp_path / "out.parquet", loan_artifact, loan_table, features_from=1)


def test_regressor_has_one_output_and_no_class_in_its_columns(
    tmp_path: Path, rng: np.random.Generator
) -> None:
    x = pd.DataFrame(rng.normal(size=(400, 4)), columns=["a", "b", "c", "d"])
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + rng.normal(0, 0.1, 400)
    artifact = tmp_path / "artifact"
    scorers.fit(Ridge().fit(x, y), x).save(artifact)
    x.to_parquet(tmp_path / "in.parquet")
    explain_table_local(
        tmp_path / "in.parquet", tmp_path / "out.parquet", artifact, rows_per_task=150, workers=1
    )
    out = check_output(tmp_path / "out.parquet", artifact, x)
    assert "shap__a" in out.columns and "expected_value" in out.columns and "probability_a" not in out.columns


def test_error_estimate_column_only_when_asked(
    tmp_path: Path, svc_artifact: Path, svc_table: pd.DataFrame
) -> None:
    """``error_estimate=True`` adds a last column equal to the Python API's per-row estimate, under a
    configuration key of its own (a run without it reuses none of its parts, and keeps its old key)."""
    table = svc_table.iloc[:60]
    table.to_parquet(tmp_path / "in.parquet")
    out_dir = tmp_path / "out.parquet"
    result = explain_table_local(
        tmp_path / "in.parquet", out_dir, svc_artifact, rows_per_task=40, workers=1, error_estimate=True
    )
    assert result.computed_parts == 2
    out = check_output(out_dir, svc_artifact, table)
    assert out.columns[-1] == "error_estimate"
    exp = reference(scorers.load(svc_artifact), table)
    assert np.array_equal(out["error_estimate"].to_numpy(), exp.error_estimate.rows)
    assert np.all(out["error_estimate"] > 0)
    manifest = json.loads((out_dir / parts.MANIFEST).read_text())
    assert manifest["computed_columns"][-1] == "error_estimate" and manifest["config"]["error_estimate"]
    cfg = RunConfig("a", "b", "parquet")
    assert replace(cfg, error_estimate=True).key != cfg.key


def test_changed_partition_is_recomputed_and_the_rest_reused(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    loan_table.to_parquet(tmp_path / "in.parquet")
    out_dir = tmp_path / "out.parquet"
    explain_table_local(tmp_path / "in.parquet", out_dir, loan_artifact, rows_per_task=1000, workers=1)
    before = mtimes(out_dir)
    changed = loan_table.copy()
    changed.loc[1500, "debt_ratio"] = 0.99
    changed.iloc[:2500].to_parquet(tmp_path / "in.parquet")  # one row changed, and the table shortened
    result = explain_table_local(
        tmp_path / "in.parquet", out_dir, loan_artifact, rows_per_task=1000, workers=2
    )
    assert (result.n_parts, result.computed_parts, result.reused_parts) == (3, 2, 1)
    after = mtimes(out_dir)
    assert after["part-00000.parquet"] == before["part-00000.parquet"]
    assert "part-00003.parquet" not in after and not (out_dir / parts.PARTS_DIR / "part-00003.json").exists()
    check_output(out_dir, loan_artifact, changed.iloc[:2500], features_from=1)


def test_bad_row_stops_the_run_with_its_row_and_field_and_a_fixed_input_resumes(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    loan_table.to_csv(tmp_path / "in.csv", index=False)
    text = (tmp_path / "in.csv").read_text().splitlines()
    cells = text[1 + 2345].split(",")
    cells[2] = "big"  # income of data row 2345
    text[1 + 2345] = ",".join(cells)
    (tmp_path / "bad.csv").write_text("\n".join(text) + "\n")
    out_dir = tmp_path / "out.parquet"
    with pytest.raises(BatchInputError) as info:
        explain_table_local(tmp_path / "bad.csv", out_dir, loan_artifact, rows_per_task=500, workers=1)
    assert (info.value.row, info.value.field, info.value.part) == (2345, "income", 4)
    assert "input row 2345, field 'income'" in str(info.value) and "'big'" in str(info.value)
    assert not (out_dir / parts.SUCCESS).exists()
    done_before = mtimes(out_dir)
    assert "part-00000.parquet" in done_before and "part-00004.parquet" not in done_before
    result = explain_table_local(tmp_path / "in.csv", out_dir, loan_artifact, rows_per_task=500, workers=1)
    assert result.reused_parts == len(done_before)
    assert all(mtimes(out_dir)[k] == v for k, v in done_before.items())
    check_output(out_dir, loan_artifact, loan_table, features_from=1)
