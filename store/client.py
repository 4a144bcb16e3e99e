"""``ExplanationClient``: the seed's upload/download/list calls, against a database or a served model.

>>> client = ExplanationClient.from_url("sqlite:///explanations.db")     # doctest: +SKIP
>>> client = ExplanationClient.from_url("http://127.0.0.1:3000", api_key="...")  # doctest: +SKIP
>>> eid = client.upload_model_explanation(global_explanation, comment="global explanation: all features")
>>> client.download_model_explanation(top_k=4).get_ranked_global_names()   # doctest: +SKIP

``Run.get_context()`` and ``ExplanationClient.from_run(run)`` stand in for Azure ML's run context: the run
carries the store URL (``SHAPSERVE_STORE_URL`` or the default SQLite file), so the seed's remote-run
snippet runs with only its imports changed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from scorers.top_k import parse_top_k

from . import api, codec
from .repository import ExplanationStore, Filters
from .settings import StoreSettings
from .stored_explanations import StoredExplanation, wrap


@dataclass(frozen=True)
class Run:
    """Where a run's explanations go: a database URL or a served model's ``http(s)://`` URL."""

    store_url: str
    api_key: str | None = None

    @classmethod
    def get_context(cls, url: str | None = None, api_key: str | None = None) -> Run:
        settings = StoreSettings()  # type: ignore[call-arg]
        key = api_key or (settings.api_key.get_secret_value() if settings.api_key else None)
        return cls(url or settings.url(), key)


_URL_CLIENTS: dict[tuple[str, ...], Any] = {}


class ExplanationClient(ABC):
    """Upload, download, list and delete explanations (the seed's ``ExplanationClient`` calls)."""

    @classmethod
    def from_url(
        cls, url: str | None = None, *, api_key: str | None = None, timeout: float = 60.0
    ) -> ExplanationClient:
        """A SQLAlchemy database URL (``sqlite:///x.db``, ``postgresql+psycopg://...``; default: the
        settings' store) or a served model's ``http(s)://`` URL (its ``/explanations`` routes)."""
        url = url or StoreSettings().url()  # type: ignore[call-arg]
        for prefixes, client in _URL_CLIENTS.items():
            if url.startswith(prefixes):
                return client(url, api_key=api_key, timeout=timeout)
        return DatabaseExplanationClient(url)

    def __init_subclass__(cls, *, url_prefixes: tuple[str, ...] = (), **kwargs: Any) -> None:
        """A subclass declared with ``url_prefixes=("http://", ...)`` serves those URLs in ``from_url``.

        Declared by the subclass rather than imported here: ``store.http_client`` subclasses this
        class, so an import of it from here would close an import cycle (``store/__init__.py``
        imports it, so it is declared whenever ``store`` is imported).
        """
        super().__init_subclass__(**kwargs)
        if url_prefixes:
            _URL_CLIENTS[url_prefixes] = cls

    @classmethod
    def from_run(cls, run: Run | str) -> ExplanationClient:
        if isinstance(run, str):
            return cls.from_url(run)
        return cls.from_url(run.store_url, api_key=run.api_key)

    @abstractmethod
    def upload_model_explanation(
        self,
        explanation: Any,
        top_k: int | None = None,
        comment: str | None = None,
        model: Any = None,
        true_ys: Any = None,
        *,
        engineered: bool | None = None,
    ) -> str:
        """Store ``explanation`` (an engine explanation, a downloaded one, or ``/explain``/
        ``/explain_global`` JSON); only its top-k features when ``top_k`` is given.  Returns the id."""

    @abstractmethod
    def download_model_explanation(
        self,
        explanation_id: str | None = None,
        top_k: int | None = None,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
    ) -> StoredExplanation:
        """The explanation with this id, else the newest uploaded one matching the filters."""

    @abstractmethod
    def list_model_explanations(
        self,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
        *,
        kind: str | None = None,
        source: str = "upload",
    ) -> list[dict[str, Any]]:
        """Metadata of the explanations matching the filters, newest first.  ``source``: ``upload``
        (default), ``recorded`` (sampled /explain answers) or ``all``."""

    @abstractmethod
    def delete_model_explanation(self, explanation_id: str) -> None: ...

    def close(self) -> None:  # noqa: B027 - optional for subclasses
        """Release connections."""

    def __enter__(self) -> ExplanationClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _top_k(top_k: int | None) -> int | None:
    return parse_top_k(top_k)


class DatabaseExplanationClient(ExplanationClient):
    """Talks to the database directly (SQLite file or PostgreSQL)."""

    def __init__(self, url: str | ExplanationStore, *, max_bytes: int | None = None) -> None:
        self.store = url if isinstance(url, ExplanationStore) else ExplanationStore(url)
        self.max_bytes = max_bytes or self.store.settings.store_max_upload_bytes

    def close(self) -> None:
        self.store.close()

    def upload_model_explanation(
        self,
        explanation: Any,
        top_k: int | None = None,
        comment: str | None = None,
        model: Any = None,
        true_ys: Any = None,
        *,
        engineered: bool | None = None,
    ) -> str:
        record = codec.from_any(explanation)
        return api.save(
            self.store,
            record,
            max_bytes=self.max_bytes,
            top_k=_top_k(top_k),
            comment=comment,
            model=model,
            true_ys=true_ys,
            engineered=engineered,
        )

    def download_model_explanation(
        self,
        explanation_id: str | None = None,
        top_k: int | None = None,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
    ) -> StoredExplanation:
        if explanation_id is not None:
            meta, record = self.store.get(explanation_id)
        else:
            filters = Filters(comment=comment, engineered=api.engineered_filter(raw, engineered))
            meta, record = self.store.latest(filters)
        return wrap(record.trimmed(_top_k(top_k)), meta)

    def list_model_explanations(
        self,
        comment: str | None = None,
        raw: bool | None = None,
        engineered: bool | None = None,
        *,
        kind: str | None = None,
        source: str = "upload",
    ) -> list[dict[str, Any]]:
        return api.list_(self.store, comment, kind, raw, engineered, source)

    def delete_model_explanation(self, explanation_id: str) -> None:
        self.store.delete(explanation_id)
