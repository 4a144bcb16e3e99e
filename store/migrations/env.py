"""Alembic environment of the explanation store, for SQLite and PostgreSQL.

Programmatic use (``store.db.upgrade``) passes an open connection in ``config.attributes["connection"]``
inside a transaction it owns.  Command-line use (``alembic -x url=... upgrade head`` with
``script_location`` pointing here) connects to ``sqlalchemy.url``, the ``-x url=`` argument, or the
store URL of the settings.  ``render_as_batch`` lets later migrations alter SQLite tables.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from store.db import make_engine, normalize_url
from store.models import Base

config = context.config
target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        from store.settings import StoreSettings

        url = StoreSettings().url()
    return normalize_url(url)


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
