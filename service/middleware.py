"""Request guard for the scoring endpoints, in front of BentoML's own parsing.

It enforces, before any JSON parsing: the body size limit (Content-Length and the bytes actually read),
the content type; then that the body is a JSON object whose keys are known.  BentoML alone would accept
a 100 MB body and parse it, and would silently ignore a misspelt key such as ``"instance"``.
"""

from __future__ import annotations

import hmac
import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import error_body

ALLOWED_KEYS = {"/predict": {"instances"}, "/explain": {"instances", "top_k"}}
# routes that need the bearer key when one is configured; health and metrics stay open for probes
PROTECTED = {"/predict", "/explain", "/metadata", "/explain_global"}


class RequestGuard:
    def __init__(
        self,
        app: ASGIApp,
        max_body_bytes: int = 4_000_000,
        on_reject: Any = None,
        api_keys: tuple[str, ...] = (),
        max_inflight: int = 8,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # scoring requests admitted at once in this worker (running + queued for a thread); beyond it
        # a request is shed at once with 429 + Retry-After instead of waiting with unbounded latency
        self.max_inflight = max_inflight
        self.inflight = 0
        self.on_reject = on_reject
        self.api_keys = tuple(k.encode() for k in api_keys if k)

    def _authorized(self, headers: dict[str, str]) -> bool:
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return False
        given = token.strip().encode()
        # compare against every key, in constant time each, without stopping early
        return any([hmac.compare_digest(given, key) for key in self.api_keys])

    async def _reject(
        self, send: Send, status: int, message: str, kind: str, field: str | None = None
    ) -> None:
        if self.on_reject is not None:
            self.on_reject(kind)
        body = json.dumps(error_body(message, kind, None, field)).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status == 401:
            headers.append((b"www-authenticate", b"Bearer"))
        if status == 429:
            headers.append((b"retry-after", b"1"))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        if self.api_keys and path in PROTECTED and not self._authorized(headers):
            await self._reject(
                send, 401, "missing or wrong API key; send 'Authorization: Bearer <key>'", "unauthorized"
            )
            return
        if scope.get("method") != "POST" or path not in ALLOWED_KEYS:
            await self.app(scope, receive, send)
            return
        if self.inflight >= self.max_inflight:
            await self._reject(
                send, 429, f"server busy: {self.inflight} requests in progress; retry shortly", "overloaded"
            )
            return
        self.inflight += 1
        try:
            await self._admitted(scope, receive, send, headers, path)
        finally:
            self.inflight -= 1

    async def _admitted(
        self, scope: Scope, receive: Receive, send: Send, headers: dict[str, str], path: str
    ) -> None:
        limit = self.max_body_bytes
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await self._reject(
                send,
                413,
                f"request body of {length} bytes exceeds the limit of {limit} bytes",
                "body_too_large",
            )
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype != "application/json":
            await self._reject(
                send,
                415,
                f"expected Content-Type application/json, got '{ctype or 'none'}'",
                "unsupported_media_type",
            )
            return
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await self._reject(
                    send, 413, f"request body exceeds the limit of {limit} bytes", "body_too_large"
                )
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        problem = _check_json(body, ALLOWED_KEYS[path])
        if problem is not None:
            await self._reject(send, 400, problem[0], problem[1], problem[2])
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _check_json(body: bytes, allowed: set[str]) -> tuple[str, str, str | None] | None:
    if not body.strip():
        return "empty request body; expected a JSON object with 'instances'", "invalid_json", None
    try:
        payload = json.loads(body)
    except RecursionError:
        return "request body is nested too deeply", "invalid_json", None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"request body is not valid JSON: {exc}", "invalid_json", None
    if not isinstance(payload, dict):
        return (
            f"expected a JSON object with 'instances', got a JSON {type(payload).__name__}",
            "invalid_input",
            None,
        )
    unknown = sorted(set(payload) - allowed)
    if unknown:
        return f"unknown key '{unknown[0]}'; expected keys: {sorted(allowed)}", "invalid_input", unknown[0]
    return None
