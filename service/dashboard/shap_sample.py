"""SHAP values of a fixed random sample of a data set's rows, computed once per worker in the background.

Explaining 100,000 rows can take minutes (the kernel-machine scorer needs about 12 ms per row of the
seed's model on this machine), so the SHAP views (aggregate importance, dependence) use the first
``size`` rows of the data set's random order.  They are explained in growing chunks by one daemon
thread; a view uses the rows done so far and says how many that is, and the page asks again until the
sample is complete.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

log = logging.getLogger("shapserve")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
Explain = Callable[[IntArray], FloatArray]  # row ids -> SHAP values (n, K, M)

FIRST_CHUNK = 50
LARGEST_CHUNK = 1000


class ShapSample:
    """``rows`` (S,): the rows to explain, in order; ``values`` (S, K, M), filled up to ``done``."""

    def __init__(
        self,
        rows: IntArray,
        explain: Explain | None,
        values: FloatArray | None = None,
        known: FloatArray | None = None,
    ) -> None:
        """``values``: every row's (the sample is complete); ``known``: the first rows' values, explained
        before (at packaging, ``scorers.eval_sample``): the rest is explained in the background."""
        self.rows = rows
        self._explain = explain
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.values: FloatArray | None = values
        self.done = len(rows) if values is not None else 0
        if values is None and known is not None and len(known) and len(rows):
            self.done = min(len(known), len(rows))
            self.values = np.empty((len(rows), *known.shape[1:]), dtype=np.float64)
            self.values[: self.done] = known[: self.done]
        self.error: str | None = None

    @classmethod
    def complete(cls, values: FloatArray) -> ShapSample:
        """Values known for every row (a stored local explanation)."""
        return cls(np.arange(values.shape[0], dtype=np.int64), None, values)

    @property
    def total(self) -> int:
        return len(self.rows)

    @property
    def finished(self) -> bool:
        return self.done >= self.total or self.error is not None

    def start(self) -> None:
        """Start the background explanation once (a no-op when done or running)."""
        with self._lock:
            if self._thread is not None or self._explain is None or self.finished:
                return
            self._thread = threading.Thread(target=self._run, name="dashboard-shap", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        assert self._explain is not None
        chunk = FIRST_CHUNK
        try:
            while self.done < self.total:
                ids = self.rows[self.done : self.done + chunk]
                values = self._explain(ids)
                if self.values is None:
                    self.values = np.empty((self.total, *values.shape[1:]), dtype=np.float64)
                self.values[self.done : self.done + len(ids)] = values
                self.done += len(ids)  # published after the values are written
                chunk = min(chunk * 2, LARGEST_CHUNK)
        except Exception as exc:  # noqa: BLE001 - a background thread: keep the reason for the page
            log.error("dashboard: explaining the SHAP sample failed", exc_info=exc)
            self.error = f"explaining the sample failed after {self.done} rows: {type(exc).__name__}"

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the sample is complete (tests, benchmarks); whether it is."""
        self.start()
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.finished

    def snapshot(self) -> tuple[IntArray, FloatArray | None]:
        """The rows explained so far and their values (views of the arrays, never rewritten)."""
        done = self.done
        if self.values is None or done == 0:
            return self.rows[:0], None
        return self.rows[:done], self.values[:done]

    def status(self) -> dict[str, object]:
        return {
            "rows_total": self.total,
            "rows_done": self.done,
            "complete": self.done >= self.total,
            "error": self.error,
        }
