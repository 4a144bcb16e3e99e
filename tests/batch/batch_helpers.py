"""Helpers of the batch tests (imported by name: pytest puts this directory on sys.path)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from threadpoolctl import threadpool_limits


def reference(explainer: Any, x: pd.DataFrame) -> Any:
    """The in-process explanation the batch output must equal bit for bit (one BLAS thread, as every
    batch worker runs)."""
    with threadpool_limits(1):
        return explainer.explain(x)
