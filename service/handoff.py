"""The hand-off of a blocking handler to a worker thread, within the route's time budget, while the
client stays.

Whatever ends the wait early sets the request's cancellation token, so an explanation stops at its next
slice of rows (``scorers.ScoringExplainer.explain_frame``) instead of computing for nobody, and the thread
is abandoned, not awaited:

- the time budget: ``TimeoutError`` (``service.app`` answers it as our 504);
- the client's disconnect: ``ClientDisconnectedError`` (499 in ``/metrics``; nobody reads the answer).

A handler's own error is raised as it is (mapped by ``service.errors``).

What a request pays for it (docs/performance.md, "the request path"): the pool's hand-off and one
``asyncio.wait``.  The disconnect is watched only once a request has run for ``WATCH_AFTER`` seconds: a
1-row request is answered before that and never starts the watcher (a task reading the ASGI ``receive``
through every middleware), while a long one notices a client that left within ``WATCH_AFTER`` plus one
slice of rows.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from starlette.types import Receive

from .errors import ClientDisconnectedError

T = TypeVar("T")

# the handler threads of a worker process: as many as anyio's default thread limiter allowed before (an
# abandoned thread holds one until its work notices the token, within a slice of rows)
THREADS = 40
WATCH_AFTER = 0.05  # seconds a request runs before its client's disconnect is watched

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """This process's handler pool, made on first use (after any fork)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=THREADS, thread_name_prefix="shapserve-handler")
        return _pool


async def in_thread(fn: Callable[[], T], token: threading.Event, budget: float, receive: Receive) -> T:
    """``fn()`` computed in a handler thread, within ``budget`` seconds while the client stays; either
    ending the wait first sets ``token``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + budget
    # in the request's context, as anyio.to_thread ran it (BentoML's request and trace context, which
    # its log lines carry)
    work = loop.run_in_executor(_threads(), contextvars.copy_context().run, fn)
    try:
        done, _ = await asyncio.wait((work,), timeout=min(budget, WATCH_AFTER))
        if not done:
            done = await _until_done_or_gone(work, receive, deadline - loop.time())
        if work not in done:
            if done:  # the watcher ended first
                raise ClientDisconnectedError("the client disconnected before its answer was ready")
            raise TimeoutError
        return work.result()
    finally:
        token.set()  # a no-op once the handler has returned
        if not work.done():
            work.cancel()  # abandoned: its result or error, when it comes, is dropped


async def _until_done_or_gone(work: asyncio.Future[Any], receive: Receive, left: float) -> set[Any]:
    """The finished ones of the work and a watcher of the client's disconnect, once either finishes or
    ``left`` seconds pass."""
    watcher = asyncio.ensure_future(_disconnected(receive))
    try:
        done, _ = await asyncio.wait(
            (work, watcher), timeout=max(left, 0.0), return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        watcher.cancel()
    return done


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass  # the body was read before (the guard replays it); nothing else is expected
