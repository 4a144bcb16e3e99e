"""Store settings, read once from environment variables prefixed ``SHAPSERVE_``.

The default store is a SQLite file: ``$BENTOML_HOME/shapserve-store.db`` when ``BENTOML_HOME`` is set
(the served model's home, writable in the image), else ``~/.shapserve/shapserve-store.db``.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

STORE_FILE = "shapserve-store.db"


class StoreSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHAPSERVE_", extra="ignore")

    store_url: str | None = Field(
        None,
        description="SQLAlchemy URL of the explanation store (sqlite:///path.db or "
        "postgresql+psycopg://user:pass@host/db); default: a SQLite file, see default_url().",
    )
    bentoml_home: str | None = Field(
        None,
        validation_alias=AliasChoices("BENTOML_HOME"),
        description="BentoML's home directory; the default SQLite file lives there when it is set.",
    )
    api_key: SecretStr | None = Field(
        None,
        description="Bearer key the HTTP client (ExplanationClient on an http(s) URL, the CLI) presents; "
        "the same variable the service checks.",
    )
    store_max_upload_bytes: int = Field(
        64 * 1024 * 1024,
        ge=1024,
        description="Largest explanation one upload may store, counted as the bytes of its arrays.",
    )
    store_sqlite_busy_timeout: float = Field(
        60.0, gt=0, description="Seconds a SQLite writer waits for another process's write to finish."
    )
    store_record_sample_rate: float = Field(
        0.0,
        ge=0.0,
        le=1.0,
        description="Share of served /explain answers the recorder keeps (0: recording off).",
    )
    store_record_retention_rows: int = Field(
        10_000, ge=1, description="Most recorded /explain answers kept; the oldest are deleted beyond it."
    )
    store_record_max_age: float = Field(
        7 * 24 * 3600.0,
        ge=0,
        description="Seconds a recorded /explain answer is kept; older ones are deleted in the background "
        "(0: no age limit, only the row limit).",
    )
    store_record_sweep_seconds: float = Field(
        60.0, gt=0, description="Seconds between a worker's background deletions of old recorded answers."
    )
    store_record_queue_rows: int = Field(
        10_000,
        ge=1,
        description="Rows of sampled answers a worker holds in memory for the writer; a sample beyond it "
        'is dropped and counted (shapserve_recording_dropped_total{reason="queue_full"}).',
    )
    store_record_batch: int = Field(
        100, ge=1, description="Most sampled answers the writer commits in one transaction."
    )
    store_record_flush_seconds: float = Field(
        1.0, gt=0, description="Seconds a sampled answer waits at most before the writer commits its batch."
    )
    store_record_shutdown_seconds: float = Field(
        20.0,
        gt=0,
        description="Seconds a stopping worker (SIGTERM) spends writing its queued samples before it "
        'drops the rest (counted, reason "shutdown").',
    )

    def default_url(self) -> str:
        home = Path(self.bentoml_home) if self.bentoml_home else Path.home() / ".shapserve"
        return f"sqlite:///{home / STORE_FILE}"

    def url(self) -> str:
        """The store URL in force: ``SHAPSERVE_STORE_URL`` or the default SQLite file."""
        return self.store_url or self.default_url()


@lru_cache(maxsize=1)
def get_settings() -> StoreSettings:
    return StoreSettings()  # type: ignore[call-arg]  # values come from the environment
