"""The command line: the parser and run() in process, ``python -m batch`` in a process that is killed
mid-run and then resumed, artifact resolution, and the store hook."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from batch_helpers import reference

import scorers
from batch import parts
from batch.cli import add_subparser, resolve_artifact, run
from batch.columns import output_columns, shap_values_of
from batch.errors import BatchError
from batch.store_hook import upload_global

ROOT = Path(__file__).resolve().parents[2]


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="shapserve")
    add_subparser(parser.add_subparsers(dest="command", required=True))
    return parser.parse_args(argv)


def test_parser_registers_exactly_the_command_and_its_defaults() -> None:
    args = parse(["explain-batch", "m", "--input", "in.parquet", "--output", "out.parquet"])
    assert (args.command, args.name, args.engine, args.spark_master, args.rows_per_task) == (
        "explain-batch",
        "m",
        "local",
        "local[*]",
        10_000,
    )
    assert args.workers is None and args.id_column is None and args.upload_global is None
    assert args.func is run


def test_run_with_id_column_and_a_bad_row_exit_code(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = loan_table.copy()
    bad.loc[42, "age"] = np.inf  # the schema rejects an infinite number
    bad.to_parquet(tmp_path / "bad.parquet")
    argv = ["explain-batch", str(loan_artifact), "--input", str(tmp_path / "bad.parquet")]
    code = run(parse([*argv, "--output", str(tmp_path / "o1"), "--workers", "1", "--no-progress"]))
    assert code == 2
    assert "input row 42, field 'age'" in capsys.readouterr().err
    code = run(parse([*argv, "--output", str(tmp_path / "o2"), "--id-column", "nope", "--no-progress"]))
    assert code == 1 and "--id-column 'nope' is not a column" in capsys.readouterr().err
    loan_table.drop(columns="region").to_parquet(tmp_path / "narrow.parquet")
    argv[3] = str(tmp_path / "narrow.parquet")
    assert run(parse([*argv, "--output", str(tmp_path / "o3"), "--no-progress"])) == 2
    assert "field 'region': the input has no column 'region'" in capsys.readouterr().err


def test_python_m_batch_killed_mid_run_then_resumed_by_run(
    tmp_path: Path, svc_artifact: Path, svc_table: pd.DataFrame, capsys: pytest.CaptureFixture[str]
) -> None:
    table = svc_table.copy()
    table.insert(0, "row_id", [f"r{i}" for i in range(len(table))])
    table.to_parquet(tmp_path / "in.parquet")
    out_dir = tmp_path / "out.parquet"
    argv = [
        "explain-batch",
        str(svc_artifact),
        "--input",
        str(tmp_path / "in.parquet"),
        "--output",
        str(out_dir),
    ]
    argv += ["--rows-per-task", "25", "--id-column", "row_id"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "batch", *argv, "--workers", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # the worker processes share its group: one kill ends them all
    )
    try:
        deadline = time.monotonic() + 240
        while len(list((out_dir / parts.PARTS_DIR).glob("part-*.json"))) < 2:
            assert proc.poll() is None, proc.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "no part written within 240 s"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done = {p.name: p.stat().st_mtime_ns for p in out_dir.glob("part-*.parquet")}
    assert 2 <= len(done) < 12 and not (out_dir / parts.SUCCESS).exists()
    assert run(parse([*argv, "--workers", "2", "--no-progress"])) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reused_parts"] >= len(done) - 1  # a part being renamed at the kill may lack its record
    assert summary["parts"] == 12 and summary["computed_parts"] + summary["reused_parts"] == 12
    kept = {p.name: p.stat().st_mtime_ns for p in out_dir.glob("part-*.parquet")}
    assert sum(kept[name] == t for name, t in done.items()) >= len(done) - 1
    explainer = scorers.load(svc_artifact)
    out = pd.read_parquet(out_dir)
    assert out.columns[0] == "row_id" and out["row_id"].tolist() == table["row_id"].tolist()
    assert "mean radius" not in out.columns  # only the id column is passed through
    assert np.array_equal(
        shap_values_of(out, output_columns(explainer)), reference(explainer, svc_table).values
    )


def test_resolve_artifact_from_directories_and_a_missing_name(tmp_path: Path, loan_artifact: Path) -> None:
    assert resolve_artifact(str(loan_artifact)) == loan_artifact
    model_dir = tmp_path / "model"
    shutil.copytree(loan_artifact, model_dir / "artifact")
    assert resolve_artifact(str(model_dir)) == model_dir / "artifact"
    with pytest.raises(BatchError, match="holds no artifact"):
        resolve_artifact(str(tmp_path))


def test_resolve_artifact_from_a_bentoml_model_name(tmp_path: Path, loan_artifact: Path) -> None:
    """In a fresh process with its own BentoML store: a model saved as `shapserve package` saves it."""
    script = textwrap.dedent(
        f"""
        import shutil, bentoml
        from pathlib import Path
        from batch.cli import resolve_artifact
        from batch.errors import BatchError
        with bentoml.models.create("batch-test-loan") as m:
            shutil.copytree({str(loan_artifact)!r}, Path(m.path) / "artifact")
        print(resolve_artifact("batch-test-loan"))
        print(resolve_artifact(str(m.tag)))
        try:
            resolve_artifact("no-such-model")
        except BatchError as exc:
            print("error:", exc)
        """
    )
    env = {**os.environ, "BENTOML_HOME": str(tmp_path / "bentoml"), "BENTOML_DO_NOT_TRACK": "true"}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    first, second, error = proc.stdout.strip().splitlines()[-3:]
    assert first == second and first.startswith(str(tmp_path / "bentoml")) and first.endswith("/artifact")
    assert "'no-such-model' is neither an artifact directory nor a model in the BentoML store" in error


def test_upload_global_without_the_store_package_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "store", None)  # import store -> ImportError
    with pytest.raises(BatchError, match="needs the explanation store package 'store'"):
        upload_global("http://127.0.0.1:1/", {"n_rows": 1})


def test_upload_global_lands_in_a_real_store(
    tmp_path: Path, loan_artifact: Path, loan_table: pd.DataFrame
) -> None:
    from store import ExplanationClient

    url = f"sqlite:///{tmp_path / 'store.db'}"
    loan_table.iloc[:300].to_parquet(tmp_path / "in.parquet")
    argv = ["explain-batch", str(loan_artifact), "--input", str(tmp_path / "in.parquet")]
    argv += ["--output", str(tmp_path / "out"), "--workers", "1", "--upload-global", url]
    assert run(parse([*argv, "--no-progress"])) == 0
    written = json.loads((tmp_path / "out" / parts.GLOBAL).read_text())
    client = ExplanationClient.from_url(url)
    (meta,) = client.list_model_explanations()
    assert "explain-batch" in meta["comment"] and meta["n_rows"] == 300
    stored = client.download_model_explanation()
    assert stored.get_ranked_global_names() == written["ranked_names"]
    assert written["features"] == list(scorers.load(loan_artifact).features)
