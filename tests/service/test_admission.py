"""Fair admission: scoring requests weigh by their rows against the worker's row budget
(SHAPSERVE_MAX_INFLIGHT_ROWS), whichever protocol carries the rows; beyond it a request is shed at once
with 429 + Retry-After, and one over the budget alone runs when nothing else is in flight.

The app and the guard are served in-process around a real ScoringService, whose explainer is held at a
gate: which requests are in flight is then known, not timed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient
from svc_helpers import LOAN_ROW

BUDGET = 40


@pytest.fixture()
def served(packaged: dict[str, str]) -> Iterator[tuple[TestClient, Any]]:
    import bentoml

    from service.app import attach, build_app
    from service.core import ScoringService
    from service.middleware import RequestGuard
    from service.routes import ROUTES
    from service.settings import Settings

    # inline_ms=0: every request in a handler thread, as these tests hold an explanation at a gate for
    # as long as they like, which a request run on the event loop (a lone one predicted short,
    # service/inline.py) cannot be while the test sends the next one
    settings = Settings(max_inflight_rows=BUDGET, max_rows=60, max_job_rows=1000, inline_ms=0)  # type: ignore[call-arg]
    artifact = bentoml.models.get(packaged["loan"]).path_of("artifact")
    core = ScoringService(artifact, name="admission", version="1", settings=settings)
    app = build_app(ROUTES, settings)
    attach(app, core)
    with TestClient(RequestGuard(app, settings=settings, routes=ROUTES)) as client:
        yield client, core


class Gate:
    """Holds every explanation of ``core`` until opened; counts the explanations that reached it."""

    def __init__(self, core: Any, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open = threading.Event()
        self.reached = threading.Semaphore(0)
        real = core.explainer.explain_frame

        def held(frame: Any, **kw: Any) -> Any:
            self.reached.release()
            assert self.open.wait(60)
            return real(frame, **kw)

        monkeypatch.setattr(core.explainer, "explain_frame", held)

    def wait_reached(self) -> None:
        assert self.reached.acquire(timeout=60), "the request never reached the explainer"


def _in_flight(client: TestClient, path: str, body: dict[str, Any], answers: list[Any]) -> threading.Thread:
    t = threading.Thread(target=lambda: answers.append(client.post(path, json=body)))
    t.start()
    return t


def _shed(resp: Any, rows_in_flight: int, rows: int) -> None:
    assert resp.status_code == 429, resp.text
    assert resp.headers["retry-after"] == "1"
    body = resp.json()
    assert body["kind"] == "overloaded" and body["row"] is None and body["field"] is None
    assert body["error"] == (
        f"server busy: {rows_in_flight} rows in flight, and this request's {rows} would exceed the budget "
        f"of {BUDGET} rows; retry shortly, or submit large requests to POST /explain_jobs"
    )


def test_rows_are_admitted_up_to_the_budget_whatever_the_protocol(
    served: tuple[TestClient, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, core = served
    gate = Gate(core, monkeypatch)
    answers: list[Any] = []
    first = _in_flight(client, "/explain", {"instances": [LOAN_ROW] * 30}, answers)
    gate.wait_reached()
    assert core.admission.rows == 30
    # 20 more rows would make 50 > 40: shed at once, on every route that carries rows
    names = list(LOAN_ROW)
    _shed(client.post("/explain", json={"instances": [LOAN_ROW] * 20}), 30, 20)
    _shed(client.post("/predict", json={"instances": [LOAN_ROW] * 20}), 30, 20)
    _shed(client.post("/score", json={"data": [LOAN_ROW] * 20}), 30, 20)  # Azure ML's wrapper
    _shed(client.post("/v1/models/admission:explain", json={"instances": [LOAN_ROW] * 20}), 30, 20)
    v2 = {
        "inputs": [
            {
                "name": n,
                "shape": [20],
                "datatype": "BYTES" if isinstance(v, str) else "FP64",
                "data": [v] * 20,
            }
            for n, v in LOAN_ROW.items()
            if v is not None
        ]
    }
    v2["inputs"].append({"name": "income", "shape": [20], "datatype": "FP64", "data": [None] * 20})
    assert sorted(i["name"] for i in v2["inputs"]) == sorted(names)
    _shed(client.post("/v2/models/admission/infer", json=v2), 30, 20)
    _shed(client.post("/explain_global", json={"instances": [LOAN_ROW] * 20}), 30, 20)
    # 10 rows fit beside the 30 (40 in all)
    second = _in_flight(client, "/explain", {"instances": [LOAN_ROW] * 10}, answers)
    gate.wait_reached()
    assert core.admission.rows == 40 and core.admission.requests == 2
    _shed(client.post("/predict", json={"instances": [LOAN_ROW]}), 40, 1)  # full: even one row waits
    gate.open.set()
    first.join(60)
    second.join(60)
    assert sorted(len(a.json()["predictions"]) for a in answers) == [10, 30]
    assert core.admission.rows == 0 and core.admission.requests == 0
    r = client.post("/predict", json={"instances": [LOAN_ROW] * 20})
    assert r.status_code == 200 and len(r.json()["predictions"]) == 20


def test_a_request_over_the_budget_runs_only_alone(
    served: tuple[TestClient, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    client, core = served
    over = {"instances": [LOAN_ROW] * (BUDGET + 10)}
    r = client.post("/explain", json=over)  # nothing in flight: admitted although 50 > 40
    assert r.status_code == 200 and len(r.json()["predictions"]) == BUDGET + 10
    gate = Gate(core, monkeypatch)
    answers: list[Any] = []
    held = _in_flight(client, "/explain", {"instances": [LOAN_ROW]}, answers)
    gate.wait_reached()
    _shed(client.post("/explain", json=over), 1, BUDGET + 10)  # beside one row: shed
    # the row limit is checked first: over SHAPSERVE_MAX_ROWS is a 400 naming the jobs route, not a 429
    r = client.post("/explain", json={"instances": [LOAN_ROW] * 61})
    assert r.status_code == 400, r.text
    assert r.json()["error"] == (
        "field 'instances': 61 rows exceed the limit of 60 per request; POST /explain_jobs takes up to "
        "1000 rows"
    )
    gate.open.set()
    held.join(60)
    assert answers[0].status_code == 200 and core.admission.rows == 0


def test_a_refused_or_failed_request_gives_its_rows_back(served: tuple[TestClient, Any]) -> None:
    client, core = served
    bad = [LOAN_ROW] * 30 + [{**LOAN_ROW, "age": "forty"}]
    r = client.post("/explain", json={"instances": bad})
    assert r.status_code == 400 and r.json()["row"] == 30 and r.json()["kind"] == "wrong_type"
    r = client.post("/explain", json={"instances": [LOAN_ROW] * 2, "top_k": 99})
    assert r.status_code == 400 and r.json()["field"] == "top_k"
    assert core.admission.rows == 0 and core.admission.requests == 0
    assert client.post("/explain", json={"instances": [LOAN_ROW] * BUDGET}).status_code == 200


def test_the_budget_counts_concurrent_holders_exactly() -> None:
    """RowBudget alone: many threads taking and giving back rows never exceed the budget."""
    from service.admission import RowBudget
    from service.errors import OverloadedError

    budget = RowBudget(100)
    peak = [0]
    shed = [0]
    lock = threading.Lock()

    def worker(rows: int) -> None:
        for _ in range(200):
            try:
                with budget.hold(rows), lock:
                    peak[0] = max(peak[0], budget.rows)
            except OverloadedError:
                with lock:
                    shed[0] += 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in (1, 7, 30, 45, 60, 99)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert budget.rows == 0 and budget.requests == 0
    assert peak[0] <= 100
    with budget.hold(150), pytest.raises(OverloadedError), budget.hold(1):  # 150 alone is admitted
        pass
