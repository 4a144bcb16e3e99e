"""The rule that runs a lone short request on the event loop (service.inline): which path, given the
requests in flight, the route's estimate, the rows and the time budget; what the estimate learns from;
and the inline path's request context, errors and cancellation token.  No clock is asserted on: the
estimates are set by ``observe`` with chosen durations."""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable
from typing import Any

import pytest

from service.inline import BUDGET_SHARE, INFLIGHT, InlineRule

ROUTE = "POST /explain"


def _rule(bound_ms: float = 20.0, per_row_ms: float | None = 1.0) -> InlineRule:
    rule = InlineRule(bound_ms)
    if per_row_ms is not None:
        rule.observe(ROUTE, 1, per_row_ms / 1000)
    return rule


def test_a_lone_request_predicted_under_the_bound_runs_inline() -> None:
    rule = _rule(bound_ms=20, per_row_ms=1)
    assert rule.inline(ROUTE, 1, 1, 30.0)
    assert rule.inline(ROUTE, 19, 1, 30.0)
    assert not rule.inline(ROUTE, 20, 1, 30.0)  # 20 ms predicted: not below the bound
    assert not rule.inline(ROUTE, 500, 1, 30.0)


def test_any_other_request_in_flight_keeps_the_thread_pool() -> None:
    rule = _rule()
    assert not rule.inline(ROUTE, 1, 2, 30.0)
    assert not rule.inline(ROUTE, 1, 8, 30.0)
    assert not rule.inline(ROUTE, 1, None, 30.0)  # not counted (no guard in front): not known to be alone
    assert not rule.inline(ROUTE, 1, 0, 30.0)


def test_no_estimate_unknown_rows_or_the_switch_off_keep_the_thread_pool() -> None:
    assert not _rule(per_row_ms=None).inline(ROUTE, 1, 1, 30.0)  # the route never ran here yet
    assert not _rule().inline("POST /predict", 1, 1, 30.0)  # another route's estimate is not this one's
    assert not _rule().inline(ROUTE, None, 1, 30.0)
    assert not _rule().inline(ROUTE, 0, 1, 30.0)
    assert not _rule(bound_ms=0).inline(ROUTE, 1, 1, 30.0)  # SHAPSERVE_INLINE_MS=0


def test_the_prediction_stays_well_below_the_time_budget() -> None:
    rule = _rule(bound_ms=20, per_row_ms=1)
    budget = 0.05  # 50 ms: a tenth of it is 5 ms, below the 20 ms bound
    assert BUDGET_SHARE * budget < 0.02
    assert rule.inline(ROUTE, 4, 1, budget)
    assert not rule.inline(ROUTE, 6, 1, budget)


def test_the_estimate_is_a_running_average_per_row() -> None:
    rule = InlineRule(20)
    rule.observe(ROUTE, 10, 0.010)  # 1 ms per row
    assert rule.per_row[ROUTE] == pytest.approx(0.001)
    rule.observe(ROUTE, 1, 0.011)  # 11 ms per row moves it by the weight, not all the way
    assert rule.per_row[ROUTE] == pytest.approx(0.001 + 0.2 * 0.010)
    for _ in range(40):  # a route that became slow stops running inline
        rule.observe(ROUTE, 1, 0.050)
    assert not rule.inline(ROUTE, 1, 1, 30.0)


def test_only_successful_calls_enter_the_estimate() -> None:
    rule = InlineRule(20)

    def refused() -> None:
        raise ValueError("row 3: not a number")

    with pytest.raises(ValueError):
        rule.timed(ROUTE, 500, refused)()
    assert ROUTE not in rule.per_row  # a refusal's microseconds would predict a valid 500 rows short
    assert rule.timed(ROUTE, 2, lambda: "answer")() == "answer"
    assert ROUTE in rule.per_row
    assert rule.timed(ROUTE, None, lambda: "x") is not None  # unknown rows: run, not measured


def _scope(inflight: int) -> dict[str, Any]:
    return {INFLIGHT: lambda: inflight}


async def _never() -> dict[str, Any]:
    await asyncio.Event().wait()
    return {"type": "http.disconnect"}


def _run(rule: InlineRule, inflight: int, fn: Callable[[], Any], token: threading.Event) -> tuple[Any, int]:
    """``rule.run`` of ``fn`` on a fresh event loop: its answer and how many times it was counted inline."""
    counted: list[int] = []

    async def main() -> Any:
        return await rule.run(ROUTE, 1, fn, token, 30.0, _scope(inflight), _never, lambda: counted.append(1))

    return asyncio.run(main()), len(counted)


def test_inline_runs_on_the_event_loops_thread_in_the_requests_context_and_sets_the_token() -> None:
    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id")
    token = threading.Event()
    seen: list[bool] = []

    def handler() -> tuple[str, int]:
        seen.append(token.is_set())
        return request_id.get(), threading.get_ident()

    async def main() -> tuple[Any, int]:
        request_id.set("r-7")
        rule = _rule()
        answer = await rule.run(ROUTE, 1, handler, token, 30.0, _scope(1), _never, lambda: None)
        return answer, threading.get_ident()

    (rid, ran_on), loop_thread = asyncio.run(main())
    assert rid == "r-7" and ran_on == loop_thread
    assert seen == [False] and token.is_set()  # set after the handler, as after a handler thread


def test_concurrent_requests_run_in_a_handler_thread_and_are_not_counted_inline() -> None:
    token = threading.Event()
    (ran_on, counted) = _run(_rule(), 2, threading.get_ident, token)
    assert ran_on != threading.get_ident() and counted == 0 and token.is_set()
    (ran_on, counted) = _run(_rule(), 1, threading.get_ident, threading.Event())
    assert ran_on == threading.get_ident() and counted == 1


def test_an_inline_handlers_own_error_is_raised_as_it_is_and_sets_the_token() -> None:
    token = threading.Event()

    def fails() -> None:
        raise ValueError("bad row")

    with pytest.raises(ValueError, match="bad row"):
        _run(_rule(), 1, fails, token)
    assert token.is_set()


def test_the_first_request_of_a_route_measures_it_in_a_thread_then_runs_inline() -> None:
    rule = InlineRule(20)
    first, counted = _run(rule, 1, threading.get_ident, threading.Event())
    assert first != threading.get_ident() and counted == 0
    assert ROUTE in rule.per_row  # measured in its thread
    rule.per_row[ROUTE] = 0.001  # what it measured is the machine's; the rule is tested apart, above
    second, counted = _run(rule, 1, threading.get_ident, threading.Event())
    assert second == threading.get_ident() and counted == 1


def test_requests_that_arrive_together_are_counted_before_either_runs_inline() -> None:
    """Two requests whose bytes were read in one loop iteration: each yields before it counts, so each
    sees the other in flight and both take the pool (counted without the yields, the first would be
    alone and hold the loop while the second waited)."""
    rule = _rule()
    inflight: list[int] = []
    scope = {INFLIGHT: lambda: len(inflight)}
    counted: list[int] = []

    async def request() -> int:
        inflight.append(1)  # the guard's admission
        try:
            return await rule.run(
                ROUTE,
                1,
                threading.get_ident,
                threading.Event(),
                30.0,
                scope,
                _never,
                lambda: counted.append(1),
            )
        finally:
            inflight.pop()

    async def main() -> list[int]:
        return list(await asyncio.gather(request(), request()))

    ran_on = asyncio.run(main())
    assert counted == [] and threading.get_ident() not in ran_on


def test_an_explain_that_asks_for_an_error_estimate_or_a_refinement_never_runs_inline() -> None:
    from service.routes.scoring import explain_rows, rows
    from service.schemas import ExplainRequest, PredictRequest

    row = [[1.0, 2.0]]
    assert rows(PredictRequest(instances=row * 3)) == 3
    assert rows(PredictRequest(instances={"a": 1})) is None  # refused by the handler, not counted here
    assert explain_rows(ExplainRequest(instances=row, top_k=2)) == 1
    assert explain_rows(ExplainRequest(instances=row, error_estimate=False)) == 1
    # a refinement runs up to SHAPSERVE_MAX_ERROR_SECONDS whatever its rows
    assert explain_rows(ExplainRequest(instances=row, max_error=0.01)) is None
    assert explain_rows(ExplainRequest(instances=row, error_estimate=True)) is None
