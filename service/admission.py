"""Fair admission: scoring requests weigh by their rows against a per-worker row budget.

The request guard (``service.middleware``) bounds how many scoring requests a worker holds at once, before
any body is read.  A request's rows are known only once its body has been decoded (``/explain``'s
``instances``, a ``/score`` frame in any orient, V2 tensors), so the row budget is taken where every
scoring route's rows are counted: ``ScoringService`` (``service.core``), before the rows are validated
and explained, and held until the work has stopped, also when its client has gone.  Beyond the budget
a request is shed at once with 429 + Retry-After; a request over the budget alone is admitted when
nothing else is in flight, so every request within ``SHAPSERVE_MAX_ROWS`` can run.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from .errors import OverloadedError


class RowBudget:
    """Rows of the scoring requests in flight in one worker, against ``limit``."""

    def __init__(self, limit: int, gauge: Any = None) -> None:
        """``gauge``: a Prometheus gauge (labelled) that follows the rows in flight, or None."""
        self.limit = limit
        self.rows = 0
        self.requests = 0
        self.gauge = gauge
        self._lock = threading.Lock()

    @contextmanager
    def hold(self, rows: int) -> Iterator[None]:
        """Admit ``rows`` for the duration of the block, or raise :class:`OverloadedError` (429)."""
        with self._lock:
            if self.requests and self.rows + rows > self.limit:
                raise OverloadedError(
                    f"server busy: {self.rows} rows in flight, and this request's {rows} would exceed the "
                    f"budget of {self.limit} rows; retry shortly, or submit large requests to "
                    "POST /explain_jobs"
                )
            self.rows += rows
            self.requests += 1
            self._show()
        try:
            yield
        finally:
            with self._lock:
                self.rows -= rows
                self.requests -= 1
                self._show()

    def _show(self) -> None:
        if self.gauge is not None:
            self.gauge.set(self.rows)
