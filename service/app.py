"""The ASGI app that serves the route table.

Each route's endpoint: refuse until the model is loaded; parse the JSON body once into the route's
pydantic model (our error shape for every refusal); run the handler in the thread pool within the time
budget; map any error in one place (``service.errors``); count the request in ``/metrics``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from functools import partial

import anyio
from pydantic import BaseModel, RootModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .core import ScoringService
from .errors import InvalidJsonError, NotReadyError, TimedOutError, to_response
from .metrics import REQUEST_SECONDS, REQUESTS
from .routing import Call, RouteSpec
from .settings import Settings


def parse_body(raw: bytes, model: type[BaseModel]) -> BaseModel:
    """One JSON parse, then the route's model; refusals name the key and what was expected.

    A ``RootModel`` body takes any JSON value (e.g. a pandas ``to_json`` array); any other model takes
    a JSON object.
    """
    root = issubclass(model, RootModel)
    keys = sorted(model.model_fields)
    if not raw.strip():
        expected = "a JSON value" if root else f"a JSON object with keys {keys}"
        raise InvalidJsonError(f"empty request body; expected {expected}")
    try:
        payload = json.loads(raw)
    except RecursionError:
        raise InvalidJsonError("request body is nested too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidJsonError(f"request body is not valid JSON: {exc}") from None
    if not root and not isinstance(payload, dict):
        from scorers.errors import InputError

        raise InputError(f"expected a JSON object with keys {keys}, got a JSON {type(payload).__name__}")
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise _input_error(exc, keys) from None


def _input_error(exc: ValidationError, keys: list[str]) -> Exception:
    from scorers.errors import InputError

    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"]) or None
    if first["type"] == "extra_forbidden":
        return InputError(f"unknown key '{where}'; expected keys: {keys}", field=where)
    return InputError(first["msg"], field=where)


def _endpoint(spec: RouteSpec, settings: Settings) -> Callable[[Request], Awaitable[Response]]:
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
                with anyio.fail_after(settings.request_timeout):
                    # abandoned on timeout: the answer goes out now, the thread finishes on its own
                    result = await anyio.to_thread.run_sync(
                        partial(spec.handler, call), abandon_on_cancel=True
                    )
            else:
                result = spec.handler(call)
            response = (
                result if isinstance(result, Response) else JSONResponse(result, status_code=spec.status)
            )
        except TimeoutError:
            response, kind = to_response(
                TimedOutError(
                    f"the request took longer than its time budget of {settings.request_timeout:g} s"
                )
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
