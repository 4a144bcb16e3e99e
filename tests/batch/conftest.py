"""Fixtures of the batch tests: fitted artifacts (once per session), generated tables, one local Spark.

The in-process reference runs with one BLAS thread, as every batch worker does (batch.partition).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import scorers
from scorers.examples import breast_cancer_svc, loan_data, loan_pipeline


@pytest.fixture(scope="session")
def loan_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pipe, x, _ = loan_pipeline()
    path = tmp_path_factory.mktemp("loan") / "artifact"
    scorers.fit(pipe, x).save(path)
    return path


@pytest.fixture(scope="session")
def svc_artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    model, x_train, *_ = breast_cancer_svc()
    path = tmp_path_factory.mktemp("svc") / "artifact"
    scorers.fit(model, x_train).save(path)
    return path


@pytest.fixture(scope="session")
def loan_table() -> pd.DataFrame:
    """3000 mixed-type rows (numbers, string categories, missing values) with an id column first."""
    x, _ = loan_data(3000, seed=5)
    x.insert(0, "application_id", np.arange(100_000, 103_000))
    return x


@pytest.fixture(scope="session")
def svc_table() -> pd.DataFrame:
    """300 rows of the seed's data, resampled with 1% multiplicative noise."""
    _, x_train, x_test, *_ = breast_cancer_svc()
    rng = np.random.default_rng(1)
    rows = pd.concat([x_train, x_test]).sample(300, replace=True, random_state=1).reset_index(drop=True)
    return rows * (1.0 + 0.01 * rng.standard_normal(rows.shape))


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark (2 cores, UI off, bound to 127.0.0.1) for the whole test session."""
    from batch.spark import session

    s = session("local[2]")
    s.sparkContext.setLogLevel("ERROR")
    yield s
    s.stop()
