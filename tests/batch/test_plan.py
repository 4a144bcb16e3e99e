"""The engine-independent plan, in process: reading partitions, CSV numbers, checksums, columns, parts."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from batch_helpers import reference

import scorers
from batch import parts
from batch.checksum import frame_checksum
from batch.columns import OutputColumns, check_clash, output_columns, shap_values_of
from batch.errors import BatchError, BatchInputError
from batch.partition import process_partition
from batch.plan import RunConfig, artifact_id, prepare
from batch.reader import parse_csv_numbers, read_partitions


def test_parquet_partitions_have_exactly_rows_per_task_rows_across_row_groups(tmp_path: Path) -> None:
    table = pa.table({"a": np.arange(1003, dtype=np.int64), "b": np.arange(1003) * 0.5})
    pq.write_table(table, tmp_path / "t.parquet", row_group_size=97)
    got = list(read_partitions(tmp_path / "t.parquet", "parquet", 250))
    assert [(p, first, len(f)) for p, first, f in got] == [
        (0, 0, 250),
        (1, 250, 250),
        (2, 500, 250),
        (3, 750, 250),
        (4, 1000, 3),
    ]
    assert np.array_equal(pd.concat([f for *_, f in got])["a"].to_numpy(), np.arange(1003))


def test_csv_partitions_are_text_and_numbers_are_parsed_per_cell(tmp_path: Path) -> None:
    pd.DataFrame({"x": ["1.5", "big", "", "NaN", "2"], "c": ["01", "b", "", "d", "e"]}).to_csv(
        tmp_path / "t.csv", index=False
    )
    ((_, _, frame),) = list(read_partitions(tmp_path / "t.csv", "csv", 10))
    assert frame["c"].tolist()[:2] == ["01", "b"] and pd.isna(frame["c"][2])  # text kept as text
    parsed = parse_csv_numbers(frame, ["x"])
    assert parsed["x"][0] == 1.5 and parsed["x"][1] == "big" and pd.isna(parsed["x"][2])
    assert pd.isna(parsed["x"][3]) and parsed["x"][4] == 2.0


def test_checksum_ignores_how_a_reader_holds_text_and_missing_values() -> None:
    a = pd.DataFrame({"n": [1.0, np.nan], "i": [1, 2], "s": pd.Series(["x", np.nan], dtype="str")})
    b = pd.DataFrame({"n": [1.0, None], "i": [1, 2], "s": pd.Series(["x", None], dtype=object)})
    assert frame_checksum(a) == frame_checksum(b)
    c = b.copy()
    c.loc[1, "s"] = "y"
    assert frame_checksum(c) != frame_checksum(b)
    assert frame_checksum(b.rename(columns={"s": "t"})) != frame_checksum(b)


def test_output_column_names_for_classifiers_and_regressors() -> None:
    clf = OutputColumns(["no", "yes"], ["a", "b"])
    assert clf.computed == [
        "prediction",
        "probability_no",
        "probability_yes",
        "expected_value_no",
        "expected_value_yes",
        "explained_output_no",
        "explained_output_yes",
        "shap__no__a",
        "shap__no__b",
        "shap__yes__a",
        "shap__yes__b",
    ]
    reg = OutputColumns(None, ["a", "b"])
    assert reg.computed == ["prediction", "expected_value", "explained_output", "shap__a", "shap__b"]
    with pytest.raises(BatchError, match=r"\['prediction'\] clash"):
        check_clash(["id", "prediction"], clf)


def _cfg(artifact: Path, rows: int = 500) -> RunConfig:
    return RunConfig(str(artifact), artifact_id(artifact), "parquet", rows)


def test_process_partition_writes_once_then_reuses_and_recomputes_what_changed(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    explainer = scorers.load(loan_artifact)
    out = prepare(tmp_path / "out.parquet")
    frame = loan_table.iloc[:500].reset_index(drop=True)
    key = _cfg(loan_artifact).key
    rec = process_partition(explainer, frame, 0, 0, out, key)
    assert not rec["skipped"] and rec["rows"] == 500
    written = pd.read_parquet(out / rec["file"])
    assert np.array_equal(
        shap_values_of(written, output_columns(explainer)),
        reference(explainer, frame.drop(columns="application_id")).values,
    )
    assert json.loads(pq.read_schema(out / rec["file"]).metadata[b"shapserve.batch"])["features"] == list(
        explainer.features
    )
    mtime = (out / rec["file"]).stat().st_mtime_ns
    again = process_partition(explainer, frame, 0, 0, out, key)
    assert again["skipped"] and (out / rec["file"]).stat().st_mtime_ns == mtime
    changed = frame.copy()
    changed.loc[7, "income"] = 1234.5
    assert not process_partition(explainer, changed, 0, 0, out, key)["skipped"]
    other_key = _cfg(loan_artifact, 400).key
    assert not process_partition(explainer, changed, 0, 0, out, other_key)["skipped"]
    with open(out / rec["file"], "r+b") as f:  # a damaged part file is computed again
        f.truncate(100)
    assert not process_partition(explainer, changed, 0, 0, out, other_key)["skipped"]
    assert not list(out.glob(".*")) and not list((out / parts.PARTS_DIR).glob(".*"))


def test_a_rejected_row_is_named_by_its_row_in_the_input(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    explainer = scorers.load(loan_artifact)
    frame = loan_table.iloc[1000:1500].reset_index(drop=True)
    frame["income"] = frame["income"].astype(object)
    frame.loc[123, "income"] = "castle"
    with pytest.raises(BatchInputError) as info:
        process_partition(explainer, frame, 2, 1000, prepare(tmp_path / "o"), _cfg(loan_artifact).key)
    assert (info.value.row, info.value.field, info.value.part) == (1123, "income", 2)
    assert "input row 1123, field 'income'" in str(info.value) and "castle" in str(info.value)
