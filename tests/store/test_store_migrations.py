"""The shipped Alembic migrations build the models' schema on an empty database, are idempotent, and
run on first use of a store."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect

from store import ExplanationStore, db
from store.models import Base


def _revision(engine):
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def test_migrations_on_an_empty_database_are_idempotent(empty_database_url):
    engine = db.make_engine(empty_database_url)
    try:
        assert inspect(engine).get_table_names() == []
        db.upgrade(engine)
        head = ScriptDirectory.from_config(db.alembic_config()).get_current_head()
        assert _revision(engine) == head == "0001"
        assert set(inspect(engine).get_table_names()) == {
            "alembic_version",
            "explanations",
            "explanation_arrays",
        }
        db.upgrade(engine)  # again: nothing to do, nothing broken
        assert _revision(engine) == head
        with engine.connect() as conn:  # the migrated schema is exactly the models' schema
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(ctx, Base.metadata) == []
    finally:
        engine.dispose()


def test_a_store_migrates_on_first_use_and_keeps_data(store_url):
    from store_support import iris

    explainer, x = iris()
    first = ExplanationStore(store_url)
    from store import DatabaseExplanationClient

    eid = DatabaseExplanationClient(first).upload_model_explanation(explainer.explain(x.iloc[:2]))
    first.close()
    db._ready.clear()  # a new process: migrations run again on open
    second = ExplanationStore(store_url)
    assert [m.id for m in second.list()] == [eid]
    assert _revision(second.engine) == "0001"
    second.close()


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path):
    s = ExplanationStore(f"sqlite:///{tmp_path / 'deep' / 'dir' / 'store.db'}")  # the directory is created
    with s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60_000
    s.close()


def test_postgres_urls_mean_psycopg3():
    assert db.normalize_url("postgresql://u:p@h/d") == "postgresql+psycopg://u:p@h/d"
    assert db.normalize_url("postgres://h/d") == "postgresql+psycopg://h/d"
    assert db.normalize_url("sqlite:///x.db") == "sqlite:///x.db"
