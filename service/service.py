"""The BentoML service: one model with its scoring explainer, loaded once per worker.

POST /predict, POST /explain (BentoML APIs); GET /metadata, GET /explain_global (a mounted Starlette
app); /livez, /readyz and /metrics come from BentoML.  Each API validates, predicts, explains and
encodes; blocking numeric work runs in BentoML's thread pool (the APIs are sync), never on the event loop.
"""

from __future__ import annotations

import typing as t

import bentoml
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from service.core import ScoringService
from service.errors import to_response
from service.middleware import RequestGuard
from service.settings import get_settings

settings = get_settings()
_args = bentoml.use_arguments()
MODEL_TAG = str(getattr(_args, "model", None) or settings.model)

_STATE: dict[str, ScoringService] = {}


def _core() -> ScoringService | None:
    return _STATE.get("core")


async def _metadata(request: Request) -> Response:
    core = _core()
    if core is None:
        return JSONResponse(
            {"error": "not ready", "kind": "not_ready", "row": None, "field": None}, status_code=503
        )
    return JSONResponse(core.metadata())


async def _explain_global(request: Request) -> Response:
    core = _core()
    if core is None:
        return JSONResponse(
            {"error": "not ready", "kind": "not_ready", "row": None, "field": None}, status_code=503
        )
    try:
        return JSONResponse(core.explain_global(request.query_params.get("top_k")))
    except Exception as exc:  # noqa: BLE001 - mapped in one place
        resp, kind = to_response(exc)
        core.count_error(kind)
        return resp


routes = Starlette(routes=[Route("/metadata", _metadata), Route("/explain_global", _explain_global)])


@bentoml.asgi_app(routes, path="/")
@bentoml.service(
    name="shapserve",
    workers=int(settings.workers) if settings.workers.isdigit() else settings.workers,
    traffic={"timeout": settings.request_timeout},
)
class Shapserve:
    model_ref = bentoml.models.BentoModel(MODEL_TAG)

    def __init__(self) -> None:
        stored = self.model_ref  # on an instance, the reference resolves to the stored model
        tag = stored.tag
        self.core = ScoringService(
            stored.path_of("artifact"),
            name=tag.name,
            version=str(tag.version),
            max_rows=settings.max_rows,
            trust_pickle=settings.trust_pickle,
            model_sha256=settings.model_sha256,
            warmup=settings.warmup,
        )
        _STATE["core"] = self.core

    def __is_ready__(self) -> bool:
        return self.core.ready

    def _handle(
        self, fn: t.Callable[[dict[str, t.Any]], dict[str, t.Any]], payload: dict[str, t.Any]
    ) -> Response:
        try:
            return JSONResponse(fn(payload))
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            resp, kind = to_response(exc)
            self.core.count_error(kind)
            return resp

    # The APIs return a finished starlette Response (BentoML passes it through as is), so status codes and
    # error bodies are ours; the annotation is what BentoML's OpenAPI schema shows for a success.
    @bentoml.api
    def predict(self, instances: t.Any = None) -> dict[str, t.Any]:
        return self._handle(self.core.predict, {"instances": instances})  # type: ignore[return-value]

    @bentoml.api
    def explain(self, instances: t.Any = None, top_k: t.Any = None) -> dict[str, t.Any]:
        return self._handle(self.core.explain, {"instances": instances, "top_k": top_k})  # type: ignore[return-value]


def _count_rejected(kind: str) -> None:
    core = _core()
    if core is not None:
        core.count_error(kind)


Shapserve.add_asgi_middleware(  # type: ignore[attr-defined]  # the decorator returns a bentoml Service
    RequestGuard,
    max_body_bytes=settings.max_body_bytes,
    on_reject=_count_rejected,
    api_keys=settings.api_keys(),
    max_inflight=settings.max_inflight,
)
