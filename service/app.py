"""The ASGI app that serves the route table.

Each route's endpoint: refuse until the model is loaded; parse the JSON body once into the route's
pydantic model (our error shape for every refusal); run the handler in the thread pool within the time
budget while the client stays (either ending sets the request's cancellation token); map any error in
one place (``service.errors``); count the request in ``/metrics``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive

from .core import ScoringService
from .errors import ClientDisconnectedError, NotReadyError, TimedOutError, to_response
from .metrics import REQUEST_SECONDS, REQUESTS
from .parsing import parse_body
from .routing import Call, RouteSpec
from .settings import Settings


def _endpoint(spec: RouteSpec, settings: Settings) -> Callable[[Request], Awaitable[Response]]:
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
            call = Call(
                core, body, dict(request.query_params), dict(request.path_params), dict(request.headers)
            )
            if spec.blocking:
                result = await _in_thread(spec, call, budget, request.receive)
            else:
                result = spec.handler(call)
            response = (
                result if isinstance(result, Response) else JSONResponse(result, status_code=spec.status)
            )
        except TimeoutError:
            response, kind = to_response(
                TimedOutError(f"the request took longer than its time budget of {budget:g} s")
            )
            _count_error(core, kind)
        except Exception as exc:  # noqa: BLE001 - mapped in one place
            response, kind = to_response(exc)
            _count_error(core, kind)
        if core is not None:
            labels = {**core.labels, "route": spec.name}
            REQUESTS.labels(**labels, status=str(response.status_code)).inc()
            REQUEST_SECONDS.labels(**labels).observe(time.perf_counter() - t0)
        return response

    return endpoint


async def _in_thread(spec: RouteSpec, call: Call, budget: float, receive: Receive) -> Any:
    """The handler's result, computed in the thread pool within the time budget while the client stays.

    Whatever ends the wait early (the budget: TimeoutError; the client's disconnect:
    ClientDisconnectedError) sets the request's token, so an explanation stops at its next slice of rows
    (``scorers.ScoringExplainer.explain_frame``) instead of computing for nobody; the thread itself is
    abandoned, not awaited.
    """
    outcome: dict[str, Any] = {}
    try:
        with anyio.fail_after(budget):
            async with anyio.create_task_group() as tg:
                tg.start_soon(_watch_disconnect, receive, call.cancel, tg.cancel_scope)
                try:
                    outcome["result"] = await anyio.to_thread.run_sync(
                        partial(spec.handler, call), abandon_on_cancel=True
                    )
                except Exception as exc:  # noqa: BLE001 - raised below, outside the task group
                    outcome["error"] = exc
                tg.cancel_scope.cancel()  # the answer is ready: stop watching
    finally:
        call.cancel.set()  # a no-op when the handler has returned
    if "error" in outcome:
        raise outcome["error"]
    if "result" not in outcome:
        raise ClientDisconnectedError("the client disconnected before its answer was ready")
    return outcome["result"]


async def _watch_disconnect(receive: Receive, token: threading.Event, scope: anyio.CancelScope) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # the body was read before (the guard replays it); nothing else is expected
    token.set()
    scope.cancel()


def _count_error(core: ScoringService | None, kind: str) -> None:
    if core is not None:
        core.count_error(kind)


def build_app(routes: tuple[RouteSpec, ...], settings: Settings) -> Starlette:
    """A Starlette app of the table (BentoML's PassiveMount matches a Starlette app route by route, so
    its own /livez, /readyz and /metrics stay its own).  ``app.state.core`` is set once the model loads."""
    app = Starlette(
        routes=[Route(spec.path, _endpoint(spec, settings), methods=[spec.method]) for spec in routes]
    )
    app.state.core = None
    return app


def attach(app: Starlette, core: ScoringService) -> None:
    app.state.core = core
