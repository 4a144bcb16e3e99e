"""``error_estimate`` and ``max_error`` on POST /explain, in process, on a kernel-scored MLP."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pandas as pd
import pytest
from serving_helpers import make_client

M = 10


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    from sklearn.datasets import make_friedman1
    from sklearn.neural_network import MLPRegressor

    from cli.bento import package

    x, y = make_friedman1(150, M, random_state=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(hidden_layer_sizes=(16,), max_iter=500, random_state=0).fit(x, y)
    tag = package(
        model,
        pd.DataFrame(x, columns=[f"f{j}" for j in range(M)]),
        name="test-error-estimate",
        progress=lambda _m: None,
        eval_size=10,
        scorer="kernel",
        n_coalitions=120,
    )["model_tag"]
    c = make_client(tag)
    c.__enter__()
    yield c
    c.__exit__(None, None, None)


ROWS = [[0.5] * M, [0.1 * j for j in range(M)]]


def test_error_estimate_is_opt_in_and_shaped_like_the_values(client: Any) -> None:
    plain = client.post("/explain", json={"instances": ROWS}).json()
    assert "error_estimate" not in plain and "refinement" not in plain
    body = client.post("/explain", json={"instances": ROWS, "error_estimate": True}).json()
    est = body["error_estimate"]
    assert len(est["rows"]) == 2 and np.shape(est["values"]) == np.shape(body["local_importance_values"])
    assert body["local_importance_values"] == plain["local_importance_values"]
    for i in range(2):
        assert est["rows"][i] > 0
        assert est["rows"][i] ** 2 == pytest.approx(np.mean(np.square(est["values"][i])))


def test_max_error_refines_and_says_which(client: Any) -> None:
    first = client.post("/explain", json={"instances": ROWS, "error_estimate": True}).json()
    target = min(first["error_estimate"]["rows"]) / 2
    body = client.post("/explain", json={"instances": ROWS, "max_error": target}).json()
    assert [r["status"] for r in body["refinement"]] and all(
        r["status"] in {"met", "background", "time", "coalitions"} for r in body["refinement"]
    )
    for r, sigma in zip(body["refinement"], body["error_estimate"]["rows"], strict=True):
        assert (r["status"] == "met") == (sigma <= target)
    assert any(r["coalitions"] > 120 for r in body["refinement"])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_error", 0),
        ("max_error", -1.0),
        ("max_error", "small"),
        ("max_error", True),
        ("error_estimate", "yes"),
    ],
)
def test_bad_values_name_the_field(client: Any, field: str, value: Any) -> None:
    r = client.post("/explain", json={"instances": ROWS, field: value})
    assert r.status_code == 400, r.text
    assert field in r.text
