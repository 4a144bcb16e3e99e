"""One process's live statistics: every explained row updates the row and time windows.

``update`` is the per-request cost: the request's rows coded (one ``to_numpy``) and appended to the
pending requests (``pending``), which are counted into both windows in one vectorised pass once
``fold_rows`` rows have gathered, and before anything reads the windows (``arrays``, ``rows``, ``hour``),
so every reader sees exactly what counting each request as it came showed.  ``arrays`` snapshots both
windows as plain arrays, the unit that is written to a worker's file and summed across workers
(``merge``).
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pandas as pd

from .baseline import Baseline
from .binning import FloatArray
from .pending import Pending
from .sketch import Counts, RowWindow, TimeWindow

WINDOWS = ("rows", "hour")
FOLD_ROWS = 64  # pending rows counted in one pass (docs/monitoring.md, "Live windows and merging")


class Monitor:
    def __init__(
        self,
        base: Baseline,
        *,
        window_rows: int = 500,
        block_rows: int = 50,
        span: float = 3600.0,
        fold_rows: int = FOLD_ROWS,
    ) -> None:
        self.base = base
        self._rows = RowWindow(base, window_rows, block_rows)
        self._hour = TimeWindow(base, span, 60)
        self.pending = Pending()
        self.fold_rows = fold_rows  # 1: every request counted as it comes
        self.lock = threading.Lock()
        self.version = 0  # bumped by every update: a writer knows whether there is news

    def update(self, frame: pd.DataFrame, values: FloatArray, now: float | None = None) -> None:
        """Count explained rows: ``frame`` (n rows, raw schema) and their SHAP values (n, K, M)."""
        self.update_coded(self.base.code_inputs(frame), values, now)

    def update_coded(self, coded: FloatArray, values: FloatArray, now: float | None = None) -> None:
        """``update`` on rows already coded (``Baseline.code_inputs``): (n, M) and (n, K, M)."""
        t = time.time() if now is None else now
        with self.lock:
            self.pending.add(coded, values, t)
            self.version += 1
            if self.pending.rows >= self.fold_rows:
                self.pending.fold(self.base, self._rows, self._hour)

    @property
    def rows(self) -> RowWindow:
        """The row window, every observed request counted."""
        with self.lock:
            self.pending.fold(self.base, self._rows, self._hour)
            return self._rows

    @property
    def hour(self) -> TimeWindow:
        """The time window, every observed request counted."""
        with self.lock:
            self.pending.fold(self.base, self._rows, self._hour)
            return self._hour

    def arrays(self, now: float | None = None) -> dict[str, np.ndarray]:
        t = time.time() if now is None else now
        with self.lock:
            self.pending.fold(self.base, self._rows, self._hour)
            return {
                **self._rows.total(self.base).to_arrays("rows"),
                **self._hour.total(self.base, t).to_arrays("hour"),
            }


def merge(base: Baseline, snapshots: list[dict[str, np.ndarray]]) -> dict[str, Counts]:
    """The windows of several processes summed, by window name."""
    out = {w: Counts.zeros(base) for w in WINDOWS}
    for snap in snapshots:
        for w in WINDOWS:
            out[w].add(Counts.from_arrays(snap, w))
    return out
