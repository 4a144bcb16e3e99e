"""Where a worker's explain jobs live: PostgreSQL when one is configured, else the jobs directory.

The one place that decides it (``jobs_url``), used to build the manager and to describe the backend in
``/metadata`` (``jobs_info``).  The directory backend is for one host: its jobs do not outlive the worker
that accepted them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..core import ScoringService
    from .manager import JobManager


def is_postgres(url: str | None) -> bool:
    return bool(url) and str(url).split("://", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def jobs_url(settings: Any, store_settings: Any) -> str | None:
    """``SHAPSERVE_JOBS_URL``, else ``SHAPSERVE_STORE_URL`` when it is PostgreSQL, else None."""
    if settings.jobs_url:
        if not is_postgres(settings.jobs_url):
            raise ValueError("SHAPSERVE_JOBS_URL must be a PostgreSQL URL (postgresql+psycopg://...)")
        return str(settings.jobs_url)
    url = store_settings.store_url
    return str(url) if is_postgres(url) else None


def make_manager(core: ScoringService) -> JobManager:
    url = jobs_url(core.settings, core.store_settings)
    if url is None:
        from .manager import JobManager

        return JobManager(core)
    from .postgres.manager import PgJobManager

    return PgJobManager(core, url)


def jobs_info(settings: Any, store_settings: Any) -> dict[str, Any]:
    """The jobs backend as ``/metadata`` shows it."""
    if jobs_url(settings, store_settings) is not None:
        return {
            "backend": "postgresql",
            "outlive_worker": True,
            "lease_seconds": settings.job_lease,
            "slice_rows": settings.job_slice_rows,
            "note": "jobs live in PostgreSQL: any server answers for any job, and a job whose worker ends "
            "is taken over by another from its last committed slice",
        }
    return {
        "backend": "directory",
        "outlive_worker": False,
        "accepting": not settings.jobs_require_shared,
        "note": "jobs live in this server's jobs directory and in the memory of the worker that accepted "
        "them: they do not outlive that worker, and other servers do not see them",
    }
