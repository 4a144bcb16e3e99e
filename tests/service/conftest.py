"""Fixtures for the service tests: models packaged into the BentoML store with the real CLI code,
in-process clients through the service's ASGI app, and real server processes on free ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serving_helpers import ClientCache

ROOT = Path(__file__).resolve().parents[2]
os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
os.environ["BENTOML_DO_NOT_TRACK"] = "true"


@pytest.fixture(scope="session")
def packaged() -> dict[str, str]:
    """name -> model tag, packaged once per session through cli.bento.package."""
    import warnings

    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    from cli.bento import package
    from scorers.examples import breast_cancer_svc, loan_pipeline

    def quiet(_msg: str) -> None:
        return None

    warnings.simplefilter("ignore")
    tags = {}
    pipe, x, _ = loan_pipeline()
    tags["loan"] = package(pipe, x, name="test-loan", progress=quiet, eval_size=50)["model_tag"]
    svc, x_train, *_ = breast_cancer_svc()
    tags["svc"] = package(svc, x_train, name="test-svc", progress=quiet, eval_size=20, background_size=10)[
        "model_tag"
    ]
    tags["svc-proba"] = package(
        svc,
        x_train,
        name="test-svc-proba",
        progress=quiet,
        eval_size=10,
        background_size=10,
        output_space="probability",
        n_coalitions=256,
    )["model_tag"]
    data = load_diabetes(as_frame=True)
    reg = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(data.data, data.target)
    tags["reg"] = package(reg, data.data, name="test-reg", progress=quiet, eval_size=50, background_size=50)[
        "model_tag"
    ]
    return tags


@pytest.fixture(scope="session")
def gated_tag() -> str:
    """The tag of tests/gated_model.py's model, whose work a test holds for as long as it likes."""
    from gated_model import package_gated

    return package_gated()


_CLIENTS = ClientCache()


@pytest.fixture()
def client_for(packaged: dict[str, str]) -> Iterator[Any]:
    """client_for(name, **env): one live in-process client per (model, settings), reused across tests."""
    yield from _CLIENTS.opener(packaged)


@pytest.fixture(scope="session", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    _CLIENTS.close()


@pytest.fixture(scope="module")
def pg() -> Iterator[Any]:
    """A throw-away PostgreSQL for one module (tests/store/pg_server.py), for the servers of the jobs and
    recording tests on PostgreSQL (tests/service/pg_serving.py)."""
    from pg_serving import PostgresServer

    server = PostgresServer().start()
    try:
        yield server
    finally:
        server.stop()
