"""The hand-off of a blocking handler (service.handoff): its answer or its own error, the time budget, the
client's disconnect, and the request's cancellation token set whichever ends the wait.

The handlers wait on events the test sets, so nothing depends on how fast the machine runs; the time
budget and WATCH_AFTER are the only clocks, and each test waits for a state, not for a duration.  The
real server's 504 shape and a disconnect that stops the work are tested in test_jobs_process.py."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from service import handoff
from service.errors import ClientDisconnectedError
from service.handoff import in_thread


def _receive(
    gone: asyncio.Event | None = None, calls: list[int] | None = None
) -> Callable[[], Awaitable[Any]]:
    """An ASGI receive after the body was read: ``http.disconnect`` once ``gone`` is set (never without)."""

    async def receive() -> dict[str, Any]:
        if calls is not None:
            calls.append(1)
        await (gone or asyncio.Event()).wait()
        return {"type": "http.disconnect"}

    return receive


def test_the_answer_comes_back_in_the_requests_context_and_the_client_is_not_watched() -> None:
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    token = threading.Event()
    calls: list[int] = []

    async def main() -> tuple[str, str]:
        request_id.set("r-1")
        return await in_thread(lambda: ("answer", request_id.get()), token, 60, _receive(calls=calls))

    assert asyncio.run(main()) == ("answer", "r-1")
    assert token.is_set()  # set after the answer: a no-op for a handler that has returned
    # answered within WATCH_AFTER (the handler returns at once): no task read the client's stream
    assert calls == []


def test_a_handlers_own_error_is_raised_as_it_is() -> None:
    def fails() -> None:
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        asyncio.run(in_thread(fails, threading.Event(), 60, _receive()))


def test_over_the_budget_the_wait_ends_and_the_token_stops_the_abandoned_handler() -> None:
    token = threading.Event()
    stopped = threading.Event()

    def until_cancelled() -> str:
        assert token.wait(60)  # an explanation asks its token between slices of rows
        stopped.set()
        return "computed for nobody"

    async def main() -> None:
        await in_thread(until_cancelled, token, 0.2, _receive())

    with pytest.raises(TimeoutError):  # service.app answers it as the 504 of our error shape
        asyncio.run(main())
    assert token.is_set() and stopped.wait(60)


def test_a_budget_within_the_watch_delay_ends_the_wait_too() -> None:
    token = threading.Event()
    with pytest.raises(TimeoutError):
        asyncio.run(in_thread(lambda: token.wait(60), token, handoff.WATCH_AFTER / 5, _receive()))
    assert token.is_set()


def test_a_client_that_leaves_sets_the_token_and_gets_no_answer() -> None:
    token = threading.Event()
    entered = threading.Event()

    def until_cancelled() -> str:
        entered.set()
        assert token.wait(60)
        return "computed for nobody"

    async def main() -> None:
        gone = asyncio.Event()
        task = asyncio.ensure_future(in_thread(until_cancelled, token, 60, _receive(gone)))
        while not entered.is_set():
            await asyncio.sleep(0.01)
        gone.set()  # the client disconnects while the handler computes
        await task

    with pytest.raises(ClientDisconnectedError):
        asyncio.run(main())
    assert token.is_set()


def test_the_handler_threads_are_one_pool_of_the_stated_size() -> None:
    async def thread_name() -> str:
        return await in_thread(lambda: threading.current_thread().name, threading.Event(), 60, _receive())

    assert asyncio.run(thread_name()).startswith("shapserve-handler")
    pool = handoff._threads()
    assert pool is handoff._threads() and pool._max_workers == handoff.THREADS
