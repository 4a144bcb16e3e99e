"""service/drain.py without a server: the first SIGTERM only turns readiness false (the handler that was
there, uvicorn's in a worker, is called after the drain), a second one, or a drain of 0 s, calls it at
once. Behind a balancer, under load, with real servers: test_rolling_restart.py."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from types import FrameType

import pytest

from service.drain import Drain


@pytest.fixture()
def calls() -> Iterator[list[int]]:
    """The signals that reached the handler installed before the drain's."""
    got: list[int] = []

    def previous(sig: int, _frame: FrameType | None) -> None:
        got.append(sig)

    before = signal.signal(signal.SIGTERM, previous)
    try:
        yield got
    finally:
        signal.signal(signal.SIGTERM, before)


def test_a_first_sigterm_turns_readiness_false_and_a_second_stops_at_once(calls: list[int]) -> None:
    drain = Drain(3600.0)  # longer than the test: the server's own handler only on the second signal
    drain.install()
    assert not drain.draining.is_set()
    signal.raise_signal(signal.SIGTERM)
    assert drain.draining.is_set() and calls == []
    signal.raise_signal(signal.SIGTERM)
    assert calls == [signal.SIGTERM]


def test_a_drain_of_zero_seconds_stops_at_once_not_ready(calls: list[int]) -> None:
    drain = Drain(0.0)
    drain.install()
    signal.raise_signal(signal.SIGTERM)
    assert drain.draining.is_set() and calls == [signal.SIGTERM]


def test_the_drain_is_installed_from_the_main_thread_only(calls: list[int]) -> None:
    drain = Drain(0.0)
    t = threading.Thread(target=drain.install)
    t.start()
    t.join()
    signal.raise_signal(signal.SIGTERM)  # the handler before it, untouched
    assert calls == [signal.SIGTERM] and not drain.draining.is_set()
