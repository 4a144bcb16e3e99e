"""Request guard, in front of every route: who may call, how much, and how many at once.

It reads the route table: a route is behind the bearer key unless marked open; a route with a JSON
body gets the body size limit (Content-Length and the bytes actually read, before any parsing) and the
content-type check; a scoring route counts against the in-flight limit, beyond which a request is shed
at once with 429 + Retry-After instead of waiting with unbounded latency.  BentoML's own routes
(health, metrics) pass through untouched.
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import (
    BodyTimeoutError,
    BodyTooLargeError,
    OverloadedError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    asgi_parts,
)
from .inline import INFLIGHT
from .routing import RouteSpec, route_for
from .settings import Settings


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings | None = None,
        routes: tuple[RouteSpec, ...] | None = None,
        on_reject: Callable[[str], None] | None = None,
        **overrides: Any,
    ) -> None:
        """``overrides``: settings fields to change for this guard (tests), e.g. ``max_inflight=2``."""
        if routes is None:
            from .routes import ROUTES

            routes = ROUTES
        base = settings or Settings()  # type: ignore[call-arg]
        self.settings = type(base)(**{**base.model_dump(), **overrides}) if overrides else base
        self.app = app
        self.routes = routes
        self.on_reject = on_reject
        self.api_keys = tuple(k.encode() for k in self.settings.api_keys() if k)
        self.inflight = 0
        self._count = lambda: self.inflight

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        given = token.strip().encode()
        # compare against every key, in constant time each, without stopping early
        return any([hmac.compare_digest(given, key) for key in self.api_keys])

    async def _reject(self, send: Send, exc: Exception) -> None:
        status, headers, body, kind = asgi_parts(exc)
        if self.on_reject is not None:
            self.on_reject(kind)
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        spec = route_for(self.routes, scope.get("path", ""))
        if spec is None:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        exact = route_for(self.routes, scope.get("path", ""), scope.get("method"))
        # open or not is decided by the route of this method when there is one: an open GET path may
        # also match a protected POST path (Vertex's health path matches its ':predict' path)
        if self.api_keys and not (exact or spec).open and not self._authorized(headers):
            await self._reject(
                send, UnauthorizedError("missing or wrong API key; send 'Authorization: Bearer <key>'")
            )
            return
        if exact is None or (not exact.scoring and exact.body is None):
            await self.app(scope, receive, send)  # the app answers (a 405 for a wrong method)
            return
        if not exact.scoring:
            await self._admitted(scope, receive, send, headers, exact)
            return
        if self.inflight >= self.settings.max_inflight:
            await self._reject(
                send, OverloadedError(f"server busy: {self.inflight} requests in progress; retry shortly")
            )
            return
        self.inflight += 1
        scope[INFLIGHT] = self._count  # read by the app when it chooses a request's path
        try:
            await self._admitted(scope, receive, send, headers, exact)
        finally:
            self.inflight -= 1

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], spec: RouteSpec
    ) -> None:
        if spec.body is None:
            await self.app(scope, receive, send)
            return
        limit = int(getattr(self.settings, spec.body_limit))
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._reject(
                send, BodyTooLargeError(f"request body of {length} bytes exceeds the limit of {limit} bytes")
            )
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype not in spec.media_types:
            expected = " or ".join(t for t in spec.media_types if t)
            await self._reject(
                send,
                UnsupportedMediaTypeError(f"expected Content-Type {expected}, got '{ctype or 'none'}'"),
            )
            return
        # the body arrives within the route's time budget, or the request ends: a client that declares
        # more bytes than it sends would otherwise hold its in-flight place for as long as it stays
        budget = float(getattr(self.settings, spec.timeout))
        got: list[int] = [0]
        try:
            async with asyncio.timeout(budget):
                body = await self._read(receive, limit, got)
        except TimeoutError:
            declared = f" of the {length} declared" if length is not None else ""
            await self._reject(
                send,
                BodyTimeoutError(
                    f"the request body did not arrive within its time budget of {budget:g} s "
                    f"({got[0]} bytes{declared} arrived); send the whole body at once"
                ),
            )
            return
        except BodyTooLargeError as exc:
            await self._reject(send, exc)
            return
        if body is None:  # the client went away
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _read(receive: Receive, limit: int, got: list[int]) -> bytes | None:
        """The whole body (``got[0]``: bytes so far), None when the client disconnects first."""
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            got[0] += len(chunk)
            if got[0] > limit:
                raise BodyTooLargeError(f"request body exceeds the limit of {limit} bytes")
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)
