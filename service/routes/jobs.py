"""Explain jobs: ``/explain`` for up to ``SHAPSERVE_MAX_JOB_ROWS`` rows, computed beside the requests.

``POST`` answers 202 with the queued job's status and its ``Location``; ``GET`` its status, progress
and, when done, a page of the result; ``DELETE`` cancels and forgets it (``service.jobs``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..jobs.schemas import JobQuery, JobStatus
from ..json_codec import JSONAnswer
from ..routing import Call, RouteSpec
from ..schemas import ExplainRequest


def submit(call: Call) -> JSONAnswer:
    status = call.core.jobs.submit(call.body, call.cancel)
    return JSONAnswer(status, status_code=202, headers={"location": f"/explain_jobs/{status['id']}"})


def status(call: Call) -> dict[str, Any]:
    return call.core.jobs.get(call.path["id"], call.query.get("offset"), call.query.get("limit"))


def delete(call: Call) -> dict[str, Any]:
    return call.core.jobs.delete(call.path["id"])


def _raw(raw: bytes, headers: Mapping[str, str]) -> bytes:
    # read in a job process, not here: parsing tens of MB of JSON would hold this worker's GIL
    return raw


_TAGS = ("jobs",)
ROUTES = (
    RouteSpec(
        "/explain_jobs",
        "POST",
        submit,
        "Start an explain job: /explain's body (error_estimate too; max_error is refused: a job has no "
        "per-request time budget), up to SHAPSERVE_MAX_JOB_ROWS rows; 202 with its status and Location",
        body=ExplainRequest,
        response=JobStatus,
        scoring=True,
        status=202,
        parse=_raw,
        body_limit="max_job_body_bytes",
        timeout="job_submit_timeout",
        tags=_TAGS,
    ),
    RouteSpec(
        "/explain_jobs/{id}",
        "GET",
        status,
        "An explain job's status and progress; when done, a page of its result in /explain's shape",
        response=JobStatus,
        query=JobQuery,
        tags=_TAGS,
    ),
    RouteSpec(
        "/explain_jobs/{id}",
        "DELETE",
        delete,
        "Cancel an explain job (a running one stops at its next slice of rows) and forget it",
        response=JobStatus,
        tags=_TAGS,
    ),
)
