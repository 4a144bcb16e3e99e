"""Where the store lives by default, and how the environment moves it."""

from __future__ import annotations

from pathlib import Path

from store import ExplanationStore, Run, StoreSettings


def test_default_is_a_sqlite_file_in_bentoml_home(monkeypatch, tmp_path):
    monkeypatch.delenv("SHAPSERVE_STORE_URL", raising=False)
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "bento"))
    assert StoreSettings().url() == f"sqlite:///{tmp_path / 'bento' / 'shapserve-store.db'}"


def test_default_without_bentoml_home_is_under_the_home_directory(monkeypatch, tmp_path):
    monkeypatch.delenv("SHAPSERVE_STORE_URL", raising=False)
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert StoreSettings().url() == f"sqlite:///{Path(tmp_path) / '.shapserve' / 'shapserve-store.db'}"


def test_created_on_first_use(monkeypatch, tmp_path):
    monkeypatch.delenv("SHAPSERVE_STORE_URL", raising=False)
    monkeypatch.setenv("BENTOML_HOME", str(tmp_path / "new"))
    store = ExplanationStore()
    assert (tmp_path / "new" / "shapserve-store.db").is_file() and store.count() == 0
    store.close()


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("SHAPSERVE_STORE_URL", "postgresql+psycopg://u@db/shapserve")
    monkeypatch.setenv("SHAPSERVE_STORE_MAX_UPLOAD_BYTES", "2048")
    monkeypatch.setenv("SHAPSERVE_API_KEY", "k1")
    s = StoreSettings()
    assert (s.url(), s.store_max_upload_bytes) == ("postgresql+psycopg://u@db/shapserve", 2048)
    assert Run.get_context() == Run("postgresql+psycopg://u@db/shapserve", "k1")
    assert Run.get_context("sqlite:///x.db", "k2") == Run("sqlite:///x.db", "k2")
