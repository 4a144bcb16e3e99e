"""One process's live statistics: every explained row updates the row and time windows.

``update`` is the per-request cost (a few vectorised numpy operations on the request's rows, no
pandas beyond one ``to_numpy``); ``arrays`` snapshots both windows as plain arrays, the unit that is
written to a worker's file and summed across workers (``merge``).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from .baseline import Baseline
from .binning import FloatArray
from .sketch import Counts, RowWindow, TimeWindow, observe

WINDOWS = ("rows", "hour")


class Monitor:
    def __init__(
        self, base: Baseline, *, window_rows: int = 500, block_rows: int = 50, span: float = 3600.0
    ) -> None:
        self.base = base
        self.rows = RowWindow(base, window_rows, block_rows)
        self.hour = TimeWindow(base, span, 60)
        self.lock = threading.Lock()
        self.version = 0  # bumped by every update: a writer knows whether there is news

    def update(self, frame: pd.DataFrame, values: FloatArray, now: float | None = None) -> None:
        """Count explained rows: ``frame`` (n rows, raw schema) and their SHAP values (n, K, M)."""
        self.update_coded(self.base.code_inputs(frame), values, now)

    def update_coded(self, coded: FloatArray, values: FloatArray, now: float | None = None) -> None:
        """``update`` on rows already coded (``Baseline.code_inputs``): (n, M) and (n, K, M)."""
        c = observe(self.base, coded, values)
        t = time.time() if now is None else now
        with self.lock:
            self.rows.add(c)
            self.hour.add(c, t)
            self.version += 1

    def arrays(self, now: float | None = None) -> dict[str, np.ndarray]:
        t = time.time() if now is None else now
        with self.lock:
            return {
                **self.rows.total(self.base).to_arrays("rows"),
                **self.hour.total(self.base, t).to_arrays("hour"),
            }


def merge(base: Baseline, snapshots: list[dict[str, np.ndarray]]) -> dict[str, Counts]:
    """The windows of several processes summed, by window name."""
    out = {w: Counts.zeros(base) for w in WINDOWS}
    for snap in snapshots:
        for w in WINDOWS:
            out[w].add(Counts.from_arrays(snap, w))
    return out
