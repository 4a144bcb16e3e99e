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


def explode_on_sentinel(x: Any) -> Any:
    """A preprocessing step that fails on one value: a model error on one request, on purpose."""
    arr = np.asarray(x, dtype=float)
    if np.any(arr == -999.0):
        raise ValueError("secret internal detail /opt/model/path")
    return arr
