"""Recording of served /explain answers under load, with a real PostgreSQL as the store and real servers
(store.record_writer; docs/store.md#recording-served-answers, docs/reliability.md):

- a SIGTERM writes every queued sample: after it, every sampled answer is in the table exactly once;
- PostgreSQL stopped mid-run: /explain keeps answering 200, the dropped samples are counted in /metrics,
  and recording resumes once the database is back;
- retention: recorded answers older than SHAPSERVE_STORE_RECORD_MAX_AGE are deleted in the background.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from pg_serving import PostgresServer, Server, connect, rows_of, until
from svc_helpers import recording_settled

pytestmark = pytest.mark.slow

# nothing is written before the shutdown: a batch never fills and the interval never ends
HELD = {
    "SHAPSERVE_STORE_RECORD_SAMPLE_RATE": "0.5",
    "SHAPSERVE_STORE_RECORD_FLUSH_SECONDS": "3600",
    "SHAPSERVE_STORE_RECORD_BATCH": "10000",
    "SHAPSERVE_WORKERS": "2",  # a queue per worker, each written at its worker's shutdown
}
# written at once, a small queue, and a retention sweep twice a second
EAGER = {
    "SHAPSERVE_STORE_RECORD_SAMPLE_RATE": "1",
    "SHAPSERVE_STORE_RECORD_FLUSH_SECONDS": "0.05",
    "SHAPSERVE_STORE_RECORD_BATCH": "4",
    "SHAPSERVE_STORE_RECORD_QUEUE_ROWS": "8",
    "SHAPSERVE_STORE_RECORD_MAX_AGE": "3600",
    "SHAPSERVE_STORE_RECORD_SWEEP_SECONDS": "0.5",
}


@pytest.fixture(scope="module")
def servers(
    packaged: dict[str, str], pg: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Server]]:
    started: dict[str, Server] = {}
    try:
        for name, env in (("held", HELD), ("eager", EAGER)):  # started together, each on its own database
            url = pg.new_database()
            home = tmp_path_factory.mktemp(f"rec-{name}")
            started[name] = Server(packaged["svc"], url, home, {**env, "SHAPSERVE_STORE_URL": url})
        yield {name: srv.ready() for name, srv in started.items()}
    finally:
        for srv in started.values():
            srv.stop()


def _metric(srv: Server, name: str, reason: str | None = None) -> float:
    """The sum of a counter over its label sets (over ``reason`` when given) on ``/metrics``."""
    text = httpx.get(srv.url + "/metrics", timeout=30).text
    lines = [ln for ln in text.splitlines() if ln.startswith(name + "{")]
    if reason is not None:
        lines = [ln for ln in lines if f'reason="{reason}"' in ln]
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)


def _explain(srv: Server, rows: list[list[float]]) -> None:
    r = httpx.post(srv.url + "/explain", json={"instances": rows}, timeout=60)
    assert r.status_code == 200, r.text


def _recorded(url: str) -> list[tuple[str, datetime]]:
    with connect(url) as c:
        if c.execute("SELECT to_regclass('explanations')").fetchone() == (None,):
            return []  # the store's tables are made on its first write
        rows = c.execute("SELECT request_id, created FROM explanations WHERE source = 'recorded'").fetchall()
    return [(str(r[0]), r[1]) for r in rows]


def test_a_sigterm_writes_every_sampled_answer_exactly_once(servers: dict[str, Server]) -> None:
    srv = servers["held"]
    rows = rows_of(60)
    for i in range(60):
        _explain(srv, rows[i : i + 1])
    sampled = _metric(srv, "shapserve_recording_sampled_total")
    assert 0 < sampled < 60  # about half
    assert _recorded(srv.url_db) == []  # all of them still queued in the workers' memory
    srv.kill(signal.SIGTERM)
    assert srv.proc.returncode == 0
    recorded = _recorded(srv.url_db)
    assert len(recorded) == sampled  # none lost...
    assert len({rid for rid, _ in recorded}) == len(recorded)  # ...and none twice


def test_a_stopped_database_drops_and_counts_samples_and_explain_keeps_answering(
    servers: dict[str, Server], pg: PostgresServer
) -> None:
    srv, rows = servers["eager"], rows_of(40)
    for i in range(4):
        _explain(srv, rows[i : i + 1])
    until("the first samples written", lambda: _metric(srv, "shapserve_recording_written_total") == 4)
    dropped = _metric(srv, "shapserve_recording_dropped_total")
    pg.halt()
    try:
        for i in range(4, 24):  # more than the queue holds: some are refused at once, the rest fail
            _explain(srv, rows[i : i + 1])
        until(
            "the samples of the outage dropped and counted",
            lambda: _metric(srv, "shapserve_recording_dropped_total") == dropped + 20,
        )
        assert _metric(srv, "shapserve_recording_dropped_total", "store_error") > 0
        assert _metric(srv, "shapserve_recording_written_total") == 4
    finally:
        pg.resume()

    def resumed() -> bool:  # the worker's connection pool finds the database again
        _explain(srv, rows[30:31])
        return _metric(srv, "shapserve_recording_written_total") > 4

    until("recording resumed", resumed)
    sampled = _metric(srv, "shapserve_recording_sampled_total")

    def settled() -> bool:  # every sample written or dropped: none left in the queue
        written = _metric(srv, "shapserve_recording_written_total")
        return written + _metric(srv, "shapserve_recording_dropped_total") == sampled

    until("every sample written or dropped", settled)
    written = _metric(srv, "shapserve_recording_written_total")
    assert len(_recorded(srv.url_db)) == written  # what /metrics counts written is in the table, once


def test_recorded_answers_older_than_the_maximum_age_are_deleted_in_the_background(
    servers: dict[str, Server],
) -> None:
    srv = servers["eager"]
    _explain(srv, rows_of(1))
    until(  # every sample written or dropped, this one's too: nothing is written after the snapshot below
        "every sample written",
        lambda: recording_settled(httpx.get(srv.url + "/metrics", timeout=30).text),
    )
    recorded = _recorded(srv.url_db)
    old = sorted(rid for rid, _ in recorded)[:2]
    with connect(srv.url_db) as c:  # two of them recorded two hours ago, beyond the 1-hour age
        c.execute(
            "UPDATE explanations SET created = %s WHERE request_id = ANY(%s)",
            (datetime.now(UTC) - timedelta(hours=2), old),
        )
    until("the old answers deleted", lambda: not {rid for rid, _ in _recorded(srv.url_db)} & set(old))
    assert {rid for rid, _ in _recorded(srv.url_db)} == {rid for rid, _ in recorded} - set(old)
    with connect(srv.url_db) as c:  # their arrays with them
        orphans = c.execute(
            "SELECT count(*) FROM explanation_arrays a LEFT JOIN explanations e ON e.id = a.explanation_id "
            "WHERE e.id IS NULL"
        ).fetchone()
    assert orphans == (0,)
