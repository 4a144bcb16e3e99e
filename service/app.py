"""The ASGI app that serves the route table.

Each route's endpoint: refuse until the model is loaded; parse the JSON body once into the route's
pydantic model (our error shape for every refusal); run a blocking handler in a handler thread within the
time budget while the client stays (``service.handoff``: either ending sets the request's cancellation
token), or on the event loop when it is alone and predicted short (``service.inline``); map any error
in one place (``service.errors``); count the request in ``/metrics``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from functools import partial

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .core import ScoringService
from .errors import NotReadyError, TimedOutError, to_response
from .inline import InlineRule
from .json_codec import JSONAnswer
from .metrics import INLINE, REQUEST_SECONDS, REQUESTS
from .parsing import parse_body
from .routing import Call, RouteSpec
from .settings import Settings


def _endpoint(
    spec: RouteSpec, settings: Settings, rule: InlineRule
) -> Callable[[Request], Awaitable[Response]]:
    budget = float(getattr(settings, spec.timeout))  # the route's time budget (seconds)

    async def endpoint(request: Request) -> Response:
        core: ScoringService | None = request.app.state.core
        t0 = time.perf_counter()
        try:
            if core is None:
                raise NotReadyError("the model is loading; retry shortly")
            body = None
            if spec.body is not None:
                raw = await request.body()
                body = spec.parse(raw, request.headers) if spec.parse else parse_body(raw, spec.body)
            # read-only views, not copies: the handlers only read them
            call = Call(core, body, request.query_params, request.path_params, request.headers)
            if spec.blocking:
                rows = spec.rows(body) if spec.rows is not None else None
                work = partial(spec.handler, call)
                inline = partial(_count_inline, core, spec.name)
                result = await rule.run(
                    spec.name, rows, work, call.cancel, budget, request.scope, request.receive, inline
                )
            else:
                result = spec.handler(call)
            response = result if isinstance(result, Response) else JSONAnswer(result, status_code=spec.status)
        except TimeoutError:
            response, kind = to_response(
                TimedOutError(f"the request took longer than its time budget of {budget:g} s")
            )
            _count_error(core, kind)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            response, kind = to_response(exc)
            _count_error(core, kind)
        if core is not None:
            core.metrics.child(REQUESTS, route=spec.name, status=str(response.status_code)).inc()
            core.metrics.child(REQUEST_SECONDS, route=spec.name).observe(time.perf_counter() - t0)
        return response

    return endpoint


def _count_inline(core: ScoringService, route: str) -> None:
    core.metrics.child(INLINE, route=route).inc()


def _count_error(core: ScoringService | None, kind: str) -> None:
    if core is not None:
        core.count_error(kind)


def build_app(routes: tuple[RouteSpec, ...], settings: Settings) -> Starlette:
    """A Starlette app of the table (BentoML's PassiveMount matches a Starlette app route by route, so
    its own /livez, /readyz and /metrics stay its own).  ``app.state.core`` is set once the model loads."""
    rule = InlineRule(settings.inline_ms)  # this worker's estimates, shared by its routes
    app = Starlette(
        routes=[Route(spec.path, _endpoint(spec, settings, rule), methods=[spec.method]) for spec in routes]
    )
    app.state.core = None
    return app


def attach(app: Starlette, core: ScoringService) -> None:
    app.state.core = core
