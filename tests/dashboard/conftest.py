"""Fixtures of the dashboard tests: models packaged with evaluation rows through cli.bento.package,
in-process clients through the service's ASGI app, and (browser tests) a real server process behind a
path-prefix proxy."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from dash_helpers import ROOT
from serving_helpers import ClientCache

os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
os.environ["BENTOML_DO_NOT_TRACK"] = "true"


def _quiet(_msg: str) -> None:
    return None


@pytest.fixture(scope="session")
def loan_eval() -> tuple[pd.DataFrame, pd.Series]:
    """Evaluation rows of the loan example (numbers, categories, missing values) and their labels."""
    from scorers.examples import loan_data

    return loan_data(600, seed=1)


@pytest.fixture(scope="session")
def reg_eval() -> tuple[pd.DataFrame, pd.Series]:
    from sklearn.datasets import load_diabetes

    data = load_diabetes(as_frame=True)
    return data.data.iloc[300:].reset_index(drop=True), data.target.iloc[300:].reset_index(drop=True)


@pytest.fixture(scope="session")
def packaged(
    loan_eval: tuple[pd.DataFrame, pd.Series], reg_eval: tuple[pd.DataFrame, pd.Series]
) -> dict[str, str]:
    """name -> model tag: a classifier (the loan pipeline) and a regressor, with labelled evaluation rows."""
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    from cli.bento import package
    from scorers.examples import loan_pipeline

    warnings.simplefilter("ignore")
    tags = {}
    pipe, x, _ = loan_pipeline()
    xe, ye = loan_eval
    tags["loan"] = package(
        pipe,
        x,
        name="dash-loan",
        progress=_quiet,
        eval_size=50,
        eval_data=xe.assign(decision=ye),
        eval_target="decision",
        global_kinds=["shap", "pfi"],
    )["model_tag"]
    data = load_diabetes(as_frame=True)
    reg = GradientBoostingRegressor(n_estimators=30, max_depth=3, random_state=0).fit(
        data.data.iloc[:300], data.target.iloc[:300]
    )
    xr, yr = reg_eval
    tags["reg"] = package(
        reg,
        data.data.iloc[:300],
        name="dash-reg",
        progress=_quiet,
        eval_size=50,
        background_size=50,
        eval_data=xr.assign(target=yr),
        eval_target="target",
    )["model_tag"]
    return tags


_CLIENTS = ClientCache()


@pytest.fixture()
def client_for(packaged: dict[str, str]) -> Iterator[Any]:
    """client_for(name, **env): one live in-process client per (model, settings), reused across tests."""
    yield from _CLIENTS.opener(packaged)


@pytest.fixture(scope="session", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    _CLIENTS.close()
