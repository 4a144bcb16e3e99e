"""Engines for the store's two backends and the migrations that run on first use.

SQLite: WAL journal (readers never block the one writer), a busy timeout (writers from several
processes queue instead of failing), foreign keys on, and write transactions opened with
``BEGIN IMMEDIATE`` so two writers never deadlock on a read-to-write upgrade.
PostgreSQL: psycopg 3, pre-pinged pooled connections with a connect timeout and TCP keepalives;
migrations hold an advisory lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection, make_url

WRITE = "shapserve_write"  # execution option: this connection's transaction will write
_MIGRATION_LOCK_KEY = 0x5348_4150  # "SHAP": the PostgreSQL advisory lock around migrations
# a database that is down or cut off fails a connection, or a query on a connection that went quiet,
# within about 10 s and 25 s, instead of blocking the caller (the recorder's writer, a request) for the
# operating system's TCP timeouts of many minutes; tcp_user_timeout (ms) bounds a query already sent into a
# silent network (a black hole), where keepalives do not run while data is unacknowledged
PG_CONNECT = {
    "connect_timeout": 10,
    "keepalives_idle": 10,
    "keepalives_interval": 5,
    "keepalives_count": 3,
    "tcp_user_timeout": 30_000,
}
_ready: set[str] = set()
_ready_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """``postgresql://`` and ``postgres://`` mean psycopg 3 (the driver we ship), not psycopg2."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def is_sqlite(engine_or_url: Engine | str) -> bool:
    url = engine_or_url.url if isinstance(engine_or_url, Engine) else make_url(engine_or_url)
    return url.get_backend_name() == "sqlite"


def make_engine(url: str, *, busy_timeout: float = 60.0) -> Engine:
    """An engine for ``url``; a SQLite file's directory is created if missing."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return _sqlite_engine(url, parsed.database, busy_timeout)
    return create_engine(url, pool_pre_ping=True, connect_args=dict(PG_CONNECT))


def _sqlite_engine(url: str, database: str | None, busy_timeout: float) -> Engine:
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # transactions are begun by the "begin" hook below, not by the driver's implicit BEGIN
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(WRITE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine


def migrations_dir() -> Path:
    return Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None, url: str | None = None) -> Any:
    """An Alembic config for the migrations shipped in this package (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(engine: Engine) -> None:
    """Bring the schema to the newest revision: one transaction, one migrating process at a time.

    Both backends run DDL transactionally here, so a process killed mid-migration leaves the schema as
    it was.  SQLite serializes through ``BEGIN IMMEDIATE``; PostgreSQL through an advisory lock.
    """
    from alembic import command

    with engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _MIGRATION_LOCK_KEY})
        command.upgrade(alembic_config(conn), "head")


def ensure_schema(engine: Engine) -> None:
    """Run the migrations once per process and database."""
    key = engine.url.render_as_string(hide_password=False)
    if key in _ready:
        return
    with _ready_lock:
        if key not in _ready:
            upgrade(engine)
            _ready.add(key)
