"""The local engine: partitions explained in worker processes on this machine (spawned, one artifact
load and one BLAS thread per worker; default: one worker per core)."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas as pd

from . import parts
from .checksum import frame_checksum
from .errors import BatchInputError
from .partition import cached_explainer, process_partition
from .plan import (
    RunConfig,
    RunResult,
    check_columns,
    finalize,
    first_error,
    numeric_features,
    prepare,
)
from .progress import bar, now
from .reader import count_rows, input_format, parse_csv_numbers, read_partitions

_CFG: RunConfig | None = None


def _init_worker(cfg: RunConfig) -> None:
    global _CFG
    _CFG = cfg
    cached_explainer(
        cfg.artifact_dir, cfg.artifact_id, trust_pickle=cfg.trust_pickle, expected_sha256=cfg.expected_sha256
    )


def _work(frame: pd.DataFrame, part: int, first_row: int, out_dir: str, sha: str) -> dict[str, Any]:
    assert _CFG is not None, "worker not initialised"
    explainer = cached_explainer(_CFG.artifact_dir, _CFG.artifact_id)
    cfg = _CFG
    return process_partition(
        explainer, frame, part, first_row, out_dir, cfg.key, cfg.id_column, sha, cfg.error_estimate
    )


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def explain_table_local(
    input_path: str | Path,
    output_dir: str | Path,
    artifact_dir: str | Path,
    *,
    rows_per_task: int = 10_000,
    workers: int | None = None,
    id_column: str | None = None,
    trust_pickle: bool = False,
    expected_sha256: str | None = None,
    progress: bool = True,
    error_estimate: bool = False,
) -> RunResult:
    """Explain every row of ``input_path`` (Parquet or CSV) into the part directory ``output_dir``.

    Parts already complete for this artifact, configuration and input partition are kept, not recomputed.
    A row the model's schema rejects stops the run with :class:`BatchInputError` (its input row and
    field); parts finished before it stay, so a rerun after fixing the input resumes.
    ``error_estimate``: a last column with each row's error estimate (batch.columns).
    """
    t0 = now()
    fmt = input_format(input_path)
    options = (rows_per_task, id_column, trust_pickle, expected_sha256, error_estimate)
    cfg = RunConfig.of(artifact_dir, fmt, *options)
    explainer = cached_explainer(
        cfg.artifact_dir, cfg.artifact_id, trust_pickle=trust_pickle, expected_sha256=expected_sha256
    )
    numeric = numeric_features(cfg.artifact_dir) if fmt == "csv" else []
    out = prepare(output_dir)
    n_workers = max(1, workers or default_workers())
    records: list[dict[str, Any]] = []
    errors: list[BatchInputError] = []
    pbar = bar(count_rows(input_path, fmt), "local", progress)
    ctx = multiprocessing.get_context("spawn")
    with (
        pbar,
        ProcessPoolExecutor(n_workers, mp_context=ctx, initializer=_init_worker, initargs=(cfg,)) as pool,
    ):
        running: set[Future[dict[str, Any]]] = set()

        def collect(done: set[Future[dict[str, Any]]]) -> None:
            for fut in done:
                try:
                    rec = fut.result()
                except BatchInputError as exc:
                    errors.append(exc)
                    continue
                records.append(rec)
                pbar.update(int(rec["rows"]))

        for part, first, frame in read_partitions(input_path, fmt, rows_per_task):
            if errors:
                break
            if part == 0:
                check_columns(list(frame.columns), id_column, explainer, error_estimate)
            if numeric:
                frame = parse_csv_numbers(frame, numeric)
            sha = frame_checksum(frame)
            done = parts.complete_record(out, part, cfg.key, sha)
            if done is not None:
                records.append({**done, "skipped": True})
                pbar.update(int(done["rows"]))
                continue
            running.add(pool.submit(_work, frame, part, first, str(out), sha))
            if len(running) >= 2 * n_workers:  # bounded: at most two partitions queued per worker
                finished, running = wait(running, return_when=FIRST_COMPLETED)
                collect(finished)
        if errors:
            for fut in running:
                fut.cancel()
        finished, _ = wait(running)
        collect({f for f in finished if not f.cancelled()})
    if errors:
        raise first_error(errors)
    return finalize(
        out, cfg, explainer, records, input_path=str(input_path), engine="local", seconds=now() - t0
    )
