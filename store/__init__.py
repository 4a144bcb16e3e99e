"""Explanations at rest: upload, list, download and delete explanations (SQLite default, PostgreSQL).

>>> from store import ExplanationClient                                    # doctest: +SKIP
>>> client = ExplanationClient.from_url("sqlite:///explanations.db")      # doctest: +SKIP
>>> client.upload_model_explanation(explainer.explain_global(x_test), comment="global")  # doctest: +SKIP

See docs/store.md.  ``store.api`` holds the HTTP handlers, ``store.cli`` the ``explanations`` command,
``store.recorder`` the optional sampling of served answers.
"""

from __future__ import annotations

from .client import DatabaseExplanationClient, ExplanationClient, Run
from .errors import ExplanationNotFound, ExplanationTooLarge, StoreUnavailable
from .http_client import HttpExplanationClient
from .repository import ExplanationStore, Filters, Meta
from .settings import StoreSettings
from .stored_explanations import StoredExplanation, StoredGlobalExplanation, StoredLocalExplanation

__all__ = [
    "HttpExplanationClient",
    "DatabaseExplanationClient",
    "ExplanationClient",
    "ExplanationNotFound",
    "ExplanationStore",
    "ExplanationTooLarge",
    "Filters",
    "Meta",
    "Run",
    "StoreSettings",
    "StoreUnavailable",
    "StoredExplanation",
    "StoredGlobalExplanation",
    "StoredLocalExplanation",
]
