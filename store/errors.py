"""Typed errors of the explanation store.

They subclass the engine's ``ShapserveError`` so that the service's one error mapping
(``service.errors.to_response``) answers them with their ``status`` and ``kind``.  Malformed uploads
raise the engine's ``InputError`` (HTTP 400) with the offending field named.
"""

from __future__ import annotations

from scorers.errors import ShapserveError


class ExplanationNotFound(ShapserveError, LookupError):
    """No stored explanation has this id, or none matches the filters (HTTP 404)."""

    status = 404
    kind = "explanation_not_found"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.row = None


class ExplanationTooLarge(ShapserveError, ValueError):
    """An upload's arrays exceed the per-upload size limit (HTTP 413)."""

    status = 413
    kind = "explanation_too_large"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__((f"field '{field}': " if field else "") + message)
        self.field = field
        self.row = None


class StoreUnavailable(ShapserveError, ConnectionError):
    """The store's server could not be reached, or dropped the connection mid-call (HTTP 503)."""

    status = 503
    kind = "store_unavailable"
