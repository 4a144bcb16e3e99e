"""The jobs directory: each job's status and result, shared by the workers of one server.

``<root>/<id>/job.json`` is the job's status, written only by the worker that owns the job (atomically:
a temporary file, then ``os.replace``), so any worker can answer ``GET /explain_jobs/{id}``.  A finished
job's result sits beside it as ``.npy`` arrays (read a page at a time, memory-mapped) and
``predictions.json``; a job asked for ``error_estimate`` keeps the estimate's arrays as ``error_*.npy``
(:func:`result_arrays`, the PostgreSQL slices' too).  Deleting a job renames its directory away first: for the owner, a job whose
directory has gone is cancelled.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Any

import numpy as np

from scorers.errorbars import ErrorEstimate

_ID = re.compile(r"^[0-9a-f]{32}$")
STATUS = "job.json"
ERROR_PREFIX = "error_"  # the error estimate's arrays: error_values, error_rows, error_sampling, ...
ERROR_ARRAYS = tuple(ERROR_PREFIX + f.name for f in fields(ErrorEstimate))
ARRAYS = ("values", "outputs", "probabilities", *ERROR_ARRAYS)  # what a result keeps, row by row


def result_arrays(result: dict[str, Any]) -> dict[str, np.ndarray | None]:
    """The arrays a store keeps of rows explained by ``process.explain`` (``batch.partition.explain_rows``'
    keys), by their names in ``ARRAYS``."""
    arrays = {"values": result["values"], "outputs": result["outputs"], "probabilities": result["proba"]}
    estimate = result["error_estimate"]
    if estimate is not None:
        arrays.update({ERROR_PREFIX + name: a for name, a in estimate.arrays().items()})
    return arrays


def error_estimate_of(page: dict[str, Any]) -> ErrorEstimate | None:
    """The error estimate of a page of a result (None when the job did not ask for one)."""
    if ERROR_ARRAYS[0] not in page:
        return None
    return ErrorEstimate(**{name[len(ERROR_PREFIX) :]: page[name] for name in ERROR_ARRAYS})


class JobGone(Exception):
    """The job's directory has gone: it was deleted (or evicted) while its owner worked on it."""


def new_id() -> str:
    return uuid.uuid4().hex


def valid_id(job_id: str) -> bool:
    return bool(_ID.match(job_id))


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)

    def path(self, job_id: str) -> Path:
        if not valid_id(job_id):  # never a path outside the root
            raise ValueError(f"not a job id: {job_id!r}")
        return self.root / job_id

    def exists(self, job_id: str) -> bool:
        return (self.path(job_id) / STATUS).is_file()

    def create(self, status: dict[str, Any]) -> None:
        self.path(status["id"]).mkdir()
        self.write(status)

    def write(self, status: dict[str, Any]) -> None:
        """Replace the job's status; :class:`JobGone` when its directory has been deleted."""
        folder = self.path(status["id"])
        tmp = folder / f".{STATUS}.{uuid.uuid4().hex[:8]}"
        try:
            tmp.write_text(json.dumps(status))
            os.replace(tmp, folder / STATUS)
        except FileNotFoundError:
            raise JobGone(status["id"]) from None

    def read(self, job_id: str) -> dict[str, Any] | None:
        try:
            return dict(json.loads((self.path(job_id) / STATUS).read_text()))
        except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError):
            return None

    def all(self) -> list[dict[str, Any]]:
        out = []
        for entry in self.root.iterdir():
            if valid_id(entry.name):
                status = self.read(entry.name)
                if status is not None:
                    out.append(status)
        return out

    def save_result(self, job_id: str, arrays: dict[str, np.ndarray | None], predictions: list[Any]) -> None:
        folder = self.path(job_id)
        try:
            for name in ARRAYS:
                array = arrays.get(name)
                if array is not None:
                    np.save(folder / f"{name}.npy", array, allow_pickle=False)
            (folder / "predictions.json").write_text(json.dumps(predictions))
        except FileNotFoundError:
            raise JobGone(job_id) from None

    def page(self, job_id: str, offset: int, limit: int) -> dict[str, Any]:
        """Rows ``offset`` to ``offset + limit`` of a finished job's result; :class:`JobGone` when it has
        been deleted meanwhile."""
        folder = self.path(job_id)
        out: dict[str, Any] = {}
        try:
            for name in ARRAYS:
                file = folder / f"{name}.npy"
                if file.exists():
                    out[name] = np.array(np.load(file, mmap_mode="r")[offset : offset + limit])
            out["predictions"] = json.loads((folder / "predictions.json").read_text())[
                offset : offset + limit
            ]
        except FileNotFoundError:
            raise JobGone(job_id) from None
        return out

    def remove(self, job_id: str) -> bool:
        """Forget a job (False when it was already gone): rename its directory away, then delete it."""
        trash = self.root / f".deleted-{job_id}-{uuid.uuid4().hex[:8]}"
        try:
            os.rename(self.path(job_id), trash)
        except FileNotFoundError:
            return False
        shutil.rmtree(trash, ignore_errors=True)
        return True
