"""What runs in a job process: the worker's jobs are read and explained here, not in the worker.

A job process is spawned by its worker (``service.jobs.manager``), loads the artifact once, runs at a
lower CPU priority with one BLAS thread, and exits when its worker has gone.  Parsing a job's body
(tens of MB of JSON) and validating its rows hold the GIL for seconds: done here, they cost the worker's
requests nothing.  Nothing here imports BentoML.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import pandas as pd

NICENESS = (
    10  # below the worker's requests: the scheduler gives a niced process about a tenth when both want a core
)
JOB_THREADS = (
    1  # BLAS/OpenMP threads of a job process: a core for the requests, and the bits of explain-batch
)

_STATE: dict[str, Any] = {}


def init(artifact_dir: str, trust_pickle: bool, expected_sha256: str | None, max_job_rows: int) -> None:
    """The process initialiser: priority, threads, the explainer, and a watch on the worker."""
    import scorers
    from scorers.allocator import keep_freed_memory
    from scorers.threads import loaded_with_threads

    os.nice(NICENESS)
    keep_freed_memory()  # each row's temporaries reused, not faulted in again (scorers.allocator)
    # a stop signal is the worker's to handle (it hands its jobs back first): this process leaves when
    # the worker shuts its pool down or ends (below), not in the middle of a slice
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _STATE["explainer"] = loaded_with_threads(
        JOB_THREADS,
        lambda: scorers.load(artifact_dir, trust_pickle=trust_pickle, expected_sha256=expected_sha256),
    )
    _STATE["max_job_rows"] = max_job_rows
    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True).start()


def _exit_with_parent(parent: int) -> None:
    # a killed worker cannot stop its pool: once this process is re-parented, it leaves on its own
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def parse(raw: bytes) -> dict[str, Any]:
    """A ``POST /explain_jobs`` body read: ``{"frame", "top_k", "error_estimate"}``, or ``{"error": ...}``
    naming what is wrong (an input error's class, message, row and field, rebuilt by the worker).
    ``max_error`` is refused: its refinement runs within a per-request time budget, which a job has not."""
    from scorers.errors import InputError
    from scorers.top_k import JSON, parse_top_k

    from ..parsing import check_error_options, check_instances, parse_body
    from ..schemas import ExplainRequest

    explainer = _STATE["explainer"]
    try:
        body = parse_body(raw, ExplainRequest)
        instances = check_instances(body.instances, _STATE["max_job_rows"], "per job")  # type: ignore[attr-defined]
        frame = explainer.validate(instances)
        top_k = parse_top_k(body.top_k, len(explainer.features), source=JSON)  # type: ignore[attr-defined]
        if body.max_error is not None:  # type: ignore[attr-defined]
            raise InputError(
                "not offered on explain jobs: max_error refines within a per-request time budget, which "
                "a job has not; ask POST /explain for it, or error_estimate: true for the error bars",
                field="max_error",
            )
        with_error, _ = check_error_options(body.error_estimate, None)  # type: ignore[attr-defined]
    except InputError as exc:
        return {
            "error": {"class": type(exc).__name__, "message": exc.detail, "row": exc.row, "field": exc.field}
        }
    return {"frame": frame, "top_k": top_k, "error_estimate": with_error}


def explain(frame: pd.DataFrame, error_estimate: bool = False) -> dict[str, Any]:
    """Predictions, probabilities and the explanation of a slice of a job's rows (numpy arrays), with
    each row's error estimate (``"error_estimate"``, or None) when asked."""
    from batch.partition import explain_rows

    return explain_rows(_STATE["explainer"], frame.reset_index(drop=True), 0, 0, error_estimate)
