"""The dashboard's Monitoring tab in Debian's chromium (Playwright) against a real server with every
``/explain`` answer recorded, behind the path-prefix proxy: the tab plots the drift scores over time and
lists the features whose attribution share moved most, and every number it shows (cards, tables, the
plot's traces) is the number ``GET /monitoring/history`` answers; every request stays under the prefix.
The same server's source ``recorded`` (service/dashboard/recorded.py) with the cohort kind "since time
T" (cohorts.since): the cohort holds exactly the answers recorded after T, and the tabs show for it what
``/explain`` answered, beside the packaging rows (``@recorded`` missing)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from dash_helpers import behind_prefix, launch_chromium
from serving_helpers import eventually, recording_settled

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
) -> Iterator[dict[str, Any]]:
    """The loan model served with recording on; 60 evaluation rows explained, then (after the time
    ``t``) 60 more with ``income`` doubled (a covariate shift): the recorded answers the tab shows."""
    d = tmp_path_factory.mktemp("monitor-tab")
    with behind_prefix(
        packaged["loan"],
        d,
        SHAPSERVE_API_KEY=KEY,
        SHAPSERVE_STORE_URL=f"sqlite:///{d}/store.db",
        SHAPSERVE_STORE_RECORD_SAMPLE_RATE="1",
    ) as (url, direct):
        x = loan_eval[0]
        first = x.iloc[:60]
        later_rows = x.iloc[60:120].assign(income=x["income"].iloc[60:120] * 2)
        answers = []
        for i, rows in enumerate((first, later_rows)):
            if i:
                time.sleep(0.01)
                t = datetime.now(UTC)
            r = httpx.post(direct + "/explain", json={"instances": _records(rows)}, headers=AUTH, timeout=300)
            assert r.status_code == 200, r.text
            answers.append(r.json())
        # the answers are written by the worker's writer thread about every second (store/record_writer.py)
        eventually(lambda: recording_settled(httpx.get(direct + "/metrics", headers=AUTH).text))
        yield {
            "url": url,
            "direct": direct,
            "t": t,
            "later": answers[1],
            "later_rows": later_rows,
            "n_eval": len(x),
        }


def _history(served: dict[str, Any], bucket: int) -> dict[str, Any]:
    r = httpx.get(served["direct"] + "/monitoring/history", params={"bucket_seconds": bucket}, headers=AUTH)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _shown(page: Any, selector: str) -> list[float | None]:
    return [
        None if v == "null" else float(v)
        for v in page.eval_on_selector_all(selector, "els => els.map(e => e.dataset.value)")
    ]


def test_monitoring_tab_shows_the_servers_history(served: dict[str, Any]) -> None:
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
            assert want["rows"] == 120 and want["overall"]["input_rows"] == 120
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
            # "compare since then": the source recorded, its cohorts tab with the since-T cohort
            page.fill("#mon-since", served["t"].isoformat())
            page.click("#mon-compare")
            page.wait_for_selector("#panel-cohorts[data-status=ready] #cohort-table", timeout=60_000)
            assert page.locator("#source").input_value() == "recorded"
            table = page.locator("#cohort-table").inner_text()
            assert "Since " + served["t"].isoformat() in table and "\t60\t" in table.replace(" ", "\t"), table
            outside = [u for u in requests if not u.startswith(served["url"] + "/")]
            assert not outside and not errors, (outside, errors)
            assert any(u.split("?")[0].endswith("/models/x/monitoring/history") for u in requests)
            assert any("dashboard/static/monitoring.js" in u for u in requests)
        finally:
            browser.close()


API = "/dashboard/api/"
BASELINE = {"name": "packaging", "filters": [{"field": "@recorded", "op": "missing"}]}


class Direct:
    """The server itself, with the key: ``get`` and ``post`` like a test client."""

    def __init__(self, url: str) -> None:
        self.url = url

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, headers=AUTH, timeout=120)

    def post(self, path: str, json: Any) -> httpx.Response:
        return httpx.post(self.url + path, json=json, headers=AUTH, timeout=120)


def _post(c: Direct, route: str, body: dict[str, Any]) -> dict[str, Any]:
    r = c.post(API + route, json=body)
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_since_cohort_is_the_answers_recorded_after_t(served: dict[str, Any]) -> None:
    c = Direct(served["direct"])
    t, later, later_rows, n_eval = served["t"], served["later"], served["later_rows"], served["n_eval"]
    listed = [s["id"] for s in c.get(API + "sources").json()["sources"]]
    assert "recorded" in listed
    summary = _post(c, "summary", {"source": "recorded"})
    assert summary["source"]["n_rows"] == n_eval + 120 and summary["has_rows"]
    since = {"name": "since T", "filters": [], "since": t.isoformat()}
    counts = _post(c, "cohorts", {"source": "recorded", "cohorts": [BASELINE, since, {"name": "all"}]})
    assert [e["n"] for e in counts["cohorts"]] == [n_eval, 60, n_eval + 120]
    assert counts["cohorts"][1]["since"] == t.isoformat()

    perf = _post(
        c,
        "performance",
        {"source": "recorded", "cohorts": [BASELINE, since], "class": "approved", "bins": 10},
    )
    classes = perf["classes"]
    got = perf["cohorts"][1]
    assert got["predicted_counts"] == [later["predictions"].count(k) for k in classes]
    p = np.asarray(later["probabilities"])[:, classes.index("approved")]
    assert got["proba_counts"] == np.histogram(p, bins=np.linspace(0, 1, 11))[0].tolist()
    hist = _post(
        c,
        "explore",
        {"source": "recorded", "cohorts": [since], "chart": "histogram", "x": "income", "bins": 10},
    )
    counts_shown = hist["cohorts"][0]["counts"][0]  # one group: all rows of the cohort
    edges = np.asarray(hist["bins"]["edges"], dtype=float)
    income = later_rows["income"].to_numpy(dtype=float)
    want = np.histogram(income[np.isfinite(income)], bins=edges)[0].tolist()
    assert counts_shown == [*want, int(np.count_nonzero(~np.isfinite(income)))]

    # a since cohort on a source without recorded answers: a 400 naming the cohort's field
    bad = c.post(API + "cohorts", json={"source": "eval", "cohorts": [since]})
    assert bad.status_code == 400 and bad.json()["field"] == "cohorts.0.since", bad.text
    bad = c.post(API + "cohorts", json={"source": "recorded", "cohorts": [{"name": "x", "since": "soon"}]})
    assert bad.status_code == 400 and "since" in bad.text
