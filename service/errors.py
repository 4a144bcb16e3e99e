"""The one place where errors become HTTP responses.

Body shape for every error we answer: ``{"error": message, "kind": kind, "row": i|null, "field": name|null}``.
Every status code we answer comes from an error class: the engine's (``scorers.errors``: 400 bad input,
422 a model no scorer explains, 500 internal) and the service's below (401, 404, 406, 408, 413, 415, 429, 499, 503,
504).  Client errors carry their message; anything else is logged with a request id and answered with a
generic message, never a traceback or a path.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from scorers.errors import InputError, ShapserveError

from .json_codec import JSONAnswer, dumps

log = logging.getLogger("shapserve")


class InvalidJsonError(InputError):
    """The body is empty, not JSON, or nested too deeply (400)."""

    kind = "invalid_json"


class UnauthorizedError(ShapserveError):
    status = 401
    kind = "unauthorized"
    headers = {"www-authenticate": "Bearer"}


class NotFoundError(ShapserveError):
    status = 404
    kind = "not_found"


class BodyTimeoutError(ShapserveError):
    """The request body did not arrive within the route's time budget (408): the client declared more
    than it sent, or sends too slowly."""

    status = 408
    kind = "body_timeout"


class BodyTooLargeError(ShapserveError):
    status = 413
    kind = "body_too_large"


class NotAcceptableError(ShapserveError):
    """No answer in a media type the request's ``Accept`` takes (406)."""

    status = 406
    kind = "not_acceptable"


class UnsupportedMediaTypeError(ShapserveError):
    status = 415
    kind = "unsupported_media_type"


class OverloadedError(ShapserveError):
    status = 429
    kind = "overloaded"
    headers = {"retry-after": "1"}


class NotReadyError(ShapserveError):
    status = 503
    kind = "not_ready"


class JobsUnavailableError(ShapserveError):
    """Explain jobs are refused by configuration (several replicas, no shared database)."""

    status = 503
    kind = "jobs_unavailable"


class TimedOutError(ShapserveError):
    status = 504
    kind = "timeout"


class ClientDisconnectedError(ShapserveError):
    """The client went away before its answer (never sent: the status is for /metrics and logs)."""

    status = 499  # nginx's "client closed request"
    kind = "client_disconnected"


class DatabaseUnavailableError(ShapserveError):
    """The shared database (jobs on PostgreSQL, the store) is down or unreachable: a restart or a network
    cut. Nothing was changed; the same call succeeds once it is back."""

    status = 503
    kind = "database_unavailable"
    headers = {"retry-after": "5"}


def database_down(exc: BaseException) -> bool:
    """Whether ``exc`` says the database could not be reached or dropped the connection (not a bug)."""
    import psycopg
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.exc import OperationalError as SqlOperationalError

    if isinstance(exc, SqlOperationalError | psycopg.OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


def error_body(message: str, kind: str, row: int | None = None, field: str | None = None) -> dict[str, Any]:
    return {"error": message, "kind": kind, "row": row, "field": field}


def describe(exc: BaseException) -> tuple[int, dict[str, Any], dict[str, str]]:
    """(status, body, extra headers) for an exception raised while handling a request."""
    if isinstance(exc, InputError):
        return exc.status, error_body(str(exc), exc.kind, exc.row, exc.field), {}
    if isinstance(exc, ShapserveError) and exc.status != 500:
        return exc.status, error_body(str(exc), exc.kind), dict(getattr(exc, "headers", {}))
    if database_down(exc):
        log.warning("the database is unavailable: %s", exc)
        down = DatabaseUnavailableError("the database is unavailable (a restart or a network cut); retry")
        return describe(down)
    request_id = uuid.uuid4().hex[:16]
    log.error("request %s failed", request_id, exc_info=exc)
    body = error_body(f"internal error while scoring; request id {request_id}", "internal")
    return 500, body, {"X-Request-ID": request_id}


def to_response(exc: BaseException) -> tuple[JSONAnswer, str]:
    """(response, metric kind); BentoML reserves 5xx bodies for itself, so ours are built here."""
    status, body, headers = describe(exc)
    return JSONAnswer(body, status_code=status, headers=headers), body["kind"]


def asgi_parts(exc: BaseException) -> tuple[int, list[tuple[bytes, bytes]], bytes, str]:
    """(status, raw headers, body, kind) for an ASGI-level answer (the request guard)."""
    status, body, headers = describe(exc)
    raw = dumps(body)
    out = [(b"content-type", b"application/json"), (b"content-length", str(len(raw)).encode())]
    out += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return status, out, raw, body["kind"]
