"""The BentoML service: one model with its scoring explainer, loaded once per worker.

BentoML runs the workers, the lifecycle (``/livez``, ``/readyz`` from ``__is_ready__``) and
``/metrics``.  Every route of ours comes from the route table (``service.routes``), served by one
mounted Starlette app (``service.app``) behind the request guard (``service.middleware``).
"""

from __future__ import annotations

from pathlib import Path

import bentoml

from scorers.allocator import keep_freed_memory
from scorers.threads import loaded_with_threads
from service.app import attach, build_app
from service.core import ScoringService
from service.drain import Drain
from service.log_lines import install as cheaper_log_lines
from service.middleware import RequestGuard
from service.preflight import refuse_unservable
from service.routes import ROUTES
from service.settings import get_settings

settings = get_settings()
MODEL_TAG = str(getattr(bentoml.use_arguments(), "model", None) or settings.model)
# a model needing a package this environment lacks stops the server here, before any worker starts
refuse_unservable(Path(bentoml.models.BentoModel(MODEL_TAG).stored.path_of("artifact")), MODEL_TAG)
app = build_app(ROUTES, settings)
drain = Drain(settings.drain_seconds)


@bentoml.asgi_app(app, path="/")
@bentoml.service(
    name="shapserve",
    workers=int(settings.workers) if settings.workers.isdigit() else settings.workers,
    # ours answers first (504 in our error shape); BentoML's own budget is the backstop
    traffic={"timeout": max(settings.request_timeout, settings.job_submit_timeout) + 10},
)
class Shapserve:
    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        stored = self.model_ref  # on an instance, the reference resolves to the stored model
        tag = stored.tag
        keep_freed_memory(settings.malloc_keep_bytes)  # before the first allocation of numeric work
        # the thread limit before this worker's first numeric work, and again on the libraries the model
        # loads (scorers.threads; docs/reliability.md)
        self.core = loaded_with_threads(
            settings.blas_threads,
            lambda: ScoringService(
                stored.path_of("artifact"), name=tag.name, version=str(tag.version), settings=settings
            ),
        )
        attach(app, self.core)
        cheaper_log_lines()  # BentoML's log lines, its access line among them, the same text (service/log_lines.py)
        drain.install()  # after uvicorn's handler: SIGTERM turns /readyz 503 first (service/drain.py)
        self.core.start_shared_jobs()
        from service.dashboard import assets

        assets.page_html()  # the dashboard's files read, hashed and gzipped now, not on its first page
        if settings.dashboard_preload:
            from service.dashboard.sources import preload

            preload(self.core)  # the dashboard's data, in the background

    def __is_ready__(self) -> bool:
        return self.core.ready and not drain.draining.is_set()

    @bentoml.on_shutdown
    def _shutdown(self) -> None:
        self.core.close()  # the explain jobs: handed back (PostgreSQL) or ended as failed (directory)


def _count_rejected(kind: str) -> None:
    core = app.state.core
    if core is not None:
        core.count_error(kind)


Shapserve.add_asgi_middleware(  # type: ignore[attr-defined]  # the decorator returns a bentoml Service
    RequestGuard, settings=settings, routes=ROUTES, on_reject=_count_rejected
)
