"""Helpers shared by the service tests (a plain module: tests/ is not a package)."""

from __future__ import annotations

from typing import Any

import numpy as np
from serving_helpers import LOAN_ROW, eventually, free_port, make_client, recording_settled, stop, wait_ready  # noqa: F401  (shared with every test folder)


def additivity_error(body: dict[str, Any]) -> float:

    values = np.asarray(body["local_importance_values"], dtype=float)
    base = np.asarray(body["expected_values"], dtype=float)
    out = np.asarray(body["explained_outputs"], dtype=float)
    return float(np.max(np.abs(base + values.sum(axis=-1) - out)))


# keys of an /explain answer with one value for all its rows (the others hold one entry per row)
SHARED_KEYS = ("features", "classes", "output_space", "expected_values")


def assert_pages_are(reference: dict[str, Any], pages: list[dict[str, Any]]) -> None:
    """A job's result pages, in order, equal one /explain answer of the same rows bit for bit: the same
    keys, every row once (``error_estimate``'s per-row lists as well), the shared values on each page."""
    for page in pages:
        assert set(page) == set(reference), sorted(set(page) ^ set(reference))
    for key, value in reference.items():
        if key in SHARED_KEYS:
            assert all(p[key] == value for p in pages), key
        elif key == "error_estimate":
            assert set(value) == {"rows", "sampling", "background", "values"}, sorted(value)
            for part, per_row in value.items():
                assert [x for p in pages for x in p[key][part]] == per_row, part
        else:
            assert [x for p in pages for x in p[key]] == value, key


def explode_on_sentinel(x: Any) -> Any:
    """A preprocessing step that fails on one value: a model error on one request, on purpose."""
    arr = np.asarray(x, dtype=float)
    if np.any(arr == -999.0):
        raise ValueError("secret internal detail /opt/model/path")
    return arr
