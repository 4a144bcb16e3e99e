"""Which blocking requests run on the event loop instead of the handler pool (docs/decisions.md 48).

Handing a request to the pool (``service.handoff``) wakes a sleeping thread and, when its answer is
ready, the event loop sleeping in ``epoll``: 0.7-2.9 ms of wall time and up to 1.2 ms of CPU for a lone
1-row ``/explain`` (docs/performance.md, "The request path, round 7", side by side with the pool).  A request runs
inline, on the event loop, only when both hold:

- it is alone: the request guard (``service.middleware``) counts this worker's scoring requests in
  flight, this one included, and there is no other (concurrent requests keep the pool, so their numeric
  work overlaps on the cores, and none waits behind another on the loop).  It is counted after the
  request has let the loop run ``YIELDS`` times: requests whose bytes arrived while the previous one
  computed on the loop are admitted first, or concurrent clients would each find themselves alone;
- it is predicted short: its rows times this worker's running estimate of the route's handler time per
  row (an EWMA of the handler's own successful calls, on either path) is below the bound
  (``SHAPSERVE_INLINE_MS``, 0: never) and below ``BUDGET_SHARE`` of its time budget.  A route with no
  estimate yet, or whose rows are not known before its handler (``RouteSpec.rows`` unset), takes the pool.

An inline request is not interrupted: nothing else runs on the loop while it computes, so neither the time
budget nor the client's disconnect can end it (the pool's path does not watch the disconnect during its
first ``handoff.WATCH_AFTER`` either, longer than the bound).  One that overruns its budget answers what
it computed, not 504 (the decision says why); its time enters the estimate, so the next one like it takes
the pool.  It runs in a copy of the request's context as the pool does, its errors are raised as they
are, and the cancellation token is set after it, as after a handler thread.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from starlette.types import Receive, Scope

from .handoff import in_thread

T = TypeVar("T")

INFLIGHT = "shapserve.inflight"  # the ASGI scope key of the guard's count of scoring requests in flight
BUDGET_SHARE = 0.1  # an inline request's predicted time is at most this share of its time budget
WEIGHT = 0.2  # the EWMA's weight of the newest call
# loop iterations a request predicted short yields before it counts the requests in flight: while one
# computes on the loop, the others' bytes wait unread in their sockets and the guard has not counted them;
# the first iteration polls the sockets and schedules their requests, the second runs them into the guard
YIELDS = 2


class InlineRule:
    """This worker's estimates of handler time per row, by route, and the choice of path they make."""

    def __init__(self, bound_ms: float) -> None:
        """``bound_ms``: the longest predicted handler time run inline, in ms (0: none is)."""
        self.bound = bound_ms / 1000
        self.per_row: dict[str, float] = {}  # route -> seconds per row
        self._lock = threading.Lock()

    def inline(self, route: str, rows: int | None, inflight: int | None, budget: float) -> bool:
        """Whether a request of ``rows`` rows (None: unknown) runs on the event loop, with ``inflight``
        scoring requests in flight in this worker, itself included (None: not counted), and a time
        budget of ``budget`` seconds."""
        if self.bound <= 0 or inflight != 1 or not rows or rows < 1:
            return False
        per_row = self.per_row.get(route)
        if per_row is None:
            return False
        return rows * per_row < min(self.bound, BUDGET_SHARE * budget)

    def observe(self, route: str, rows: int, seconds: float) -> None:
        """One successful handler call of ``rows`` rows that took ``seconds``."""
        sample = seconds / rows
        with self._lock:
            old = self.per_row.get(route)
            self.per_row[route] = sample if old is None else old + WEIGHT * (sample - old)

    def timed(self, route: str, rows: int | None, fn: Callable[[], T]) -> Callable[[], T]:
        """``fn`` that, when it returns, adds its time to the route's estimate (its errors add nothing: a
        refusal's few microseconds per row would predict a large valid request short)."""
        if not rows or rows < 1:
            return fn

        def run() -> T:
            t0 = time.perf_counter()
            result = fn()
            self.observe(route, rows, time.perf_counter() - t0)
            return result

        return run

    async def run(
        self,
        route: str,
        rows: int | None,
        fn: Callable[[], T],
        token: threading.Event,
        budget: float,
        scope: Scope,
        receive: Receive,
        counted: Callable[[], object],
    ) -> T:
        """``fn()``, inline or in a handler thread (``handoff.in_thread``) by the rule; ``counted()`` is
        called for a request run inline."""
        count = scope.get(INFLIGHT)
        work = self.timed(route, rows, fn)
        if count is None or not self.inline(route, rows, 1, budget):
            return await in_thread(work, token, budget, receive)
        for _ in range(YIELDS):  # requests that arrived meanwhile are admitted and counted first
            await asyncio.sleep(0)
        if not self.inline(route, rows, count(), budget):
            return await in_thread(work, token, budget, receive)
        counted()
        try:
            return contextvars.copy_context().run(work)
        finally:
            token.set()
