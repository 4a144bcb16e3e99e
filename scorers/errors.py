"""Typed errors of the scoring engine.

Each error carries the HTTP status the service answers with; the mapping from error to response lives
in exactly one place (``service.errors``).  Messages name the offending row/field and what was expected,
because they are shown to API clients as they are.
"""

from __future__ import annotations


class ShapserveError(Exception):
    """Base class. ``status`` is the HTTP status a server should answer with; ``kind`` labels metrics."""

    status: int = 500
    kind: str = "internal"


class InputError(ShapserveError, ValueError):
    """The caller's data does not match the model's input schema (HTTP 400)."""

    status = 400
    kind = "invalid_input"

    def __init__(self, message: str, *, row: int | None = None, field: str | None = None) -> None:
        where = []
        if row is not None:
            where.append(f"row {row}")
        if field is not None:
            where.append(f"field '{field}'")
        prefix = (", ".join(where) + ": ") if where else ""
        super().__init__(prefix + message)
        self.row = row
        self.field = field
        self.detail = message


class MissingFeatureError(InputError):
    kind = "missing_feature"


class UnknownFeatureError(InputError):
    kind = "unknown_feature"


class WrongTypeError(InputError):
    kind = "wrong_type"


class WrongWidthError(InputError):
    kind = "wrong_width"


class NotFittedError(ShapserveError, RuntimeError):
    """A scorer or explainer was used before ``fit``."""

    kind = "not_fitted"


class UnsupportedModelError(ShapserveError, TypeError):
    """A scorer was asked to explain a model it cannot explain exactly."""

    status = 422
    kind = "unsupported_model"


class UnsupportedOperationError(ShapserveError, NotImplementedError):
    """An explainer was asked for something its method does not give (PFI has no local explanations)."""

    status = 422
    kind = "unsupported_operation"


class ExplanationCancelled(ShapserveError):
    """The caller's cancellation token was set while rows were being explained (the caller has gone:
    a client that disconnected, a request over its time budget, a cancelled job)."""

    status = 499  # "client closed request": nobody reads the answer
    kind = "cancelled"


class ArtifactError(ShapserveError, OSError):
    """An artifact is missing, tampered with, truncated or of an unknown schema version."""

    kind = "artifact"


class UntrustedModelError(ArtifactError):
    """A pickled model was to be loaded without an explicit trust choice or a matching sha256.

    A pickle is code: unpickling runs whatever its author put in it.
    """

    kind = "untrusted_model"
