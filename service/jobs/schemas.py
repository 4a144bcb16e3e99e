"""The shapes of the jobs routes, for the OpenAPI document (the answers are built by ``manager``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from ..schemas import ErrorResponse, ExplainResponse, GlobalResponse


class JobQuery(BaseModel):
    offset: str | None = Field(None, description="First row of the result page (from 0; default 0).")
    limit: str | None = Field(None, description="Rows in the result page (1 to 10000; default 1000).")


class JobPage(BaseModel):
    offset: int
    limit: int
    rows: int = Field(description="Rows in this page.")
    next_offset: int | None = Field(description="The offset of the next page; null on the last page.")


class JobStatus(BaseModel):
    id: str
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    rows: int
    rows_done: int
    progress: float = Field(description="rows_done / rows.")
    submitted_at: str = Field(description="ISO 8601, UTC.")
    started_at: str | None
    finished_at: str | None
    expires_at: str | None = Field(description="When a finished job is forgotten (SHAPSERVE_JOB_TTL).")
    queued_seconds: float
    running_seconds: float | None
    rows_per_second: float | None
    error: ErrorResponse | None = Field(description="Why a job failed (kind job_lost: its worker ended).")
    result: ExplainResponse | None = Field(
        description="When done: the /explain answer for the page's rows (?offset=&limit=)."
    )
    page: JobPage | None
    global_explanation: GlobalResponse | None = Field(
        description="When done: mean |SHAP| per feature over all the job's rows (GET /explain_global's shape)."
    )
