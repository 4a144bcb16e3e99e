"""Fixtures of the protocol tests.

Three models packaged once per session with the real CLI code (the seed's SVC, the loan pipeline with
string categories and missing values, a regressor); in-process clients through the service's ASGI app
(``tests/serving_helpers.make_client``); and real ``bentoml serve`` processes on free 127.0.0.1
ports for the clients no one here wrote.  The KServe SDK and Triton's client pin packages that clash
with ours (pandas, protobuf, psutil), so they live in ``.venv-clients`` (``make clients``) and run as
scripts (``tests/protocols/clients/``) that print JSON.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "service"))  # svc_helpers: shared with the service tests
os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
os.environ["BENTOML_DO_NOT_TRACK"] = "true"

from proto_helpers import API_KEY  # noqa: E402
from serving_helpers import ClientCache, free_port, stop, wait_ready  # noqa: E402


@pytest.fixture(scope="session")
def models() -> dict[str, str]:
    """name -> model tag: 'svc' (the seed's model), 'loan' (categories, nulls), 'reg' (a regressor)."""
    import warnings

    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import GradientBoostingRegressor

    from cli.bento import package
    from scorers.examples import breast_cancer_svc, loan_pipeline

    def quiet(_msg: str) -> None:
        return None

    warnings.simplefilter("ignore")
    svc, x_train, *_ = breast_cancer_svc()
    pipe, x, _ = loan_pipeline()
    data = load_diabetes(as_frame=True)
    reg = GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(data.data, data.target)
    common = {"progress": quiet, "eval_size": 10, "background_size": 10}
    return {
        "svc": package(svc, x_train, name="proto-svc", **common)["model_tag"],
        "loan": package(pipe, x, name="proto-loan", **common)["model_tag"],
        "reg": package(reg, data.data, name="proto-reg", **common)["model_tag"],
    }


@pytest.fixture(scope="session")
def seed_frames() -> dict[str, Any]:
    """The seed's frames: x_test (the rows it sends, ``x_test[:4]``) with their shuffled index kept."""
    import pandas as pd
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split

    data = load_breast_cancer()
    x = pd.DataFrame(data.data, columns=[str(n) for n in data.feature_names])
    x_train, x_test = train_test_split(x, test_size=0.2, random_state=0)
    return {"x_train": x_train, "x_test": x_test}


_CLIENTS = ClientCache()


@pytest.fixture()
def client(models: dict[str, str]) -> Iterator[Any]:
    """client(name, **env): one live in-process client per (model, settings), reused across tests."""
    yield from _CLIENTS.opener(models)


@pytest.fixture(scope="session", autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    _CLIENTS.close()


@pytest.fixture(scope="session")
def servers(models: dict[str, str]) -> Iterator[dict[str, str]]:
    """name -> base URL of a real server, started together: 'svc' without a key (as the seed's Azure
    service, called without one), 'loan' behind the API key ``API_KEY``."""
    procs: dict[str, tuple[str, subprocess.Popen[bytes]]] = {}
    for name, key in (("svc", None), ("loan", API_KEY)):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHAPSERVE_")}  # defaults
        env.update(SHAPSERVE_MODEL=models[name], SHAPSERVE_WORKERS="1")
        if key:
            env["SHAPSERVE_API_KEY"] = key
        cmd = [sys.executable, "-m", "bentoml", "serve", "service.service:Shapserve"]
        cmd += ["--port", str(port), "--host", "127.0.0.1"]
        proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs[name] = (f"http://127.0.0.1:{port}", proc)
    try:
        with ThreadPoolExecutor(len(procs)) as pool:
            list(pool.map(lambda item: wait_ready(*item), procs.values()))
        yield {name: url for name, (url, _) in procs.items()}
    finally:
        for _, proc in procs.values():
            stop(proc)
