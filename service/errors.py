"""The one place where errors become HTTP responses.

Body shape for every error we answer: ``{"error": message, "kind": kind, "row": i|null, "field": name|null}``.
Client errors carry their message (it names the row, the field and what was expected); anything else
is logged with the request id and answered with a generic message, never a traceback or a path.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from starlette.responses import JSONResponse

from scorers.errors import InputError, ShapserveError

log = logging.getLogger("shapserve")


def error_body(message: str, kind: str, row: int | None = None, field: str | None = None) -> dict[str, Any]:
    return {"error": message, "kind": kind, "row": row, "field": field}


def to_response(exc: BaseException) -> tuple[JSONResponse, str]:
    """(response, metric kind) for an exception raised while handling a request."""
    if isinstance(exc, InputError):
        return JSONResponse(
            error_body(str(exc), exc.kind, exc.row, exc.field), status_code=exc.status
        ), exc.kind
    if isinstance(exc, ShapserveError) and 400 <= exc.status < 500:
        return JSONResponse(error_body(str(exc), exc.kind), status_code=exc.status), exc.kind
    request_id = uuid.uuid4().hex[:16]
    log.error("request %s failed", request_id, exc_info=exc)
    body = error_body(f"internal error while scoring; request id {request_id}", "internal")
    # BentoML reserves 5xx bodies for itself, so the response is built here and returned as is
    return JSONResponse(body, status_code=500, headers={"X-Request-ID": request_id}), "internal"
