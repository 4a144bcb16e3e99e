"""The dashboard's Monitoring tab in Debian's chromium (Playwright) against a real server with every
``/explain`` answer recorded, behind the path-prefix proxy: the tab plots the drift scores over time and
lists the features whose attribution share moved most, and every number it shows (cards, tables, the
plot's traces) is the number ``GET /monitoring/history`` answers; every request stays under the prefix."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from dash_helpers import PrefixProxy, free_port, launch_chromium, serve, stop, wait_ready

pytestmark = pytest.mark.slow

KEY = "monitor-tab-key"
AUTH = {"authorization": f"Bearer {KEY}"}


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


@pytest.fixture(scope="module")
def served(
    packaged: dict[str, str],
    loan_eval: tuple[pd.DataFrame, pd.Series],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, str]]:
    """The loan model served with recording on; 150 evaluation rows explained, then 150 with ``income``
    doubled (a covariate shift): the recorded answers the tab shows."""
    d = tmp_path_factory.mktemp("monitor-tab")
    port = free_port()
    proc = serve(
        packaged["loan"],
        port,
        d / "server.log",
        SHAPSERVE_API_KEY=KEY,
        SHAPSERVE_STORE_URL=f"sqlite:///{d}/store.db",
        SHAPSERVE_STORE_RECORD_SAMPLE_RATE="1",
    )
    direct = f"http://127.0.0.1:{port}"
    proxy = None
    try:
        wait_ready(direct, proc)
        frame = loan_eval[0].iloc[:150]
        for rows in (frame, frame.assign(income=frame["income"] * 2)):
            r = httpx.post(direct + "/explain", json={"instances": _records(rows)}, headers=AUTH, timeout=300)
            assert r.status_code == 200, r.text
        proxy = PrefixProxy(direct).start()
        yield {"url": proxy.url, "direct": direct}
    finally:
        if proxy is not None:
            proxy.close()
        assert stop(proc) in (0, -15), (d / "server.log").read_text()[-3000:]


def _history(served: dict[str, str], bucket: int) -> dict[str, Any]:
    r = httpx.get(served["direct"] + "/monitoring/history", params={"bucket_seconds": bucket}, headers=AUTH)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _shown(page: Any, selector: str) -> list[float | None]:
    return [
        None if v == "null" else float(v)
        for v in page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.value)")
    ]


def test_monitoring_tab_shows_the_servers_history(served: dict[str, str]) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch_chromium(pw)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 950})
            context.add_init_script(f"sessionStorage.setItem('shapserve.key', {json.dumps(KEY)})")
            page = context.new_page()
            requests: list[str] = []
            errors: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(served["url"] + "/dashboard#monitoring")
            page.wait_for_selector(
                "#panel-monitoring[data-status=ready] #mon-plot.js-plotly-plot", timeout=60_000
            )
            want = _history(served, 3600)
            assert want["rows"] == 300 and want["overall"]["input_rows"] == 300
            # the cards, the moved features' table and the buckets' table: the server's numbers
            assert _shown(page, "#mon-cards .big") == [
                want["rows"],
                want["overall"]["attribution_drift"]["score"],
                want["overall"]["input_drift"]["score"],
            ]
            moved = page.eval_on_selector_all(
                "#mon-moved-table tbody tr", "els => els.map(e => e.dataset.feature)"
            )
            assert moved == [m["feature"] for m in want["moved"]] and moved[0] == "income"
            assert _shown(page, "#mon-moved-table tbody td[data-value]") == [
                v
                for m in want["moved"]
                for v in (m["attribution_share"], m["baseline_attribution_share"], m["change"])
            ]
            assert _shown(page, "#mon-buckets-table tbody td[data-value]") == [
                v
                for b in want["buckets"]
                for v in (
                    b["window_rows"],
                    b["attribution_drift"]["score"],
                    b["attribution_drift"]["ndcg"],
                    b["input_drift"]["score"],
                )
            ]
            traces = page.evaluate("document.getElementById('mon-plot').data.map(t => [t.name, t.y])")
            assert traces[0][1] == [b["attribution_drift"]["score"] for b in want["buckets"]]
            assert traces[1][1] == [b["input_drift"]["score"] for b in want["buckets"]]
            assert traces[2][1] == [b["attribution_drift"]["ndcg"] for b in want["buckets"]]
            assert np.isclose(
                want["overall"]["input_drift"]["score"],
                max(want["overall"]["features"][f]["input_psi"] for f in want["overall"]["features"]),
            )

            # another bucket width: the page asks again and shows that answer
            page.select_option("#mon-bucket", "60")
            page.wait_for_selector("#panel-monitoring[data-status=ready][data-bucket='60']")
            minute = _history(served, 60)
            rows = page.eval_on_selector_all(
                "#mon-buckets-table tbody tr", "els => els.map(e => Number(e.dataset.start))"
            )
            assert rows == [b["start"] for b in minute["buckets"]]
            outside = [u for u in requests if not u.startswith(served["url"] + "/")]
            assert not outside and not errors, (outside, errors)
            assert any(u.split("?")[0].endswith("/models/x/monitoring/history") for u in requests)
            assert any("dashboard/static/monitoring.js" in u for u in requests)
        finally:
            browser.close()
