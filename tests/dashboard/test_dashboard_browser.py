"""The dashboard in a real browser: Debian's chromium, headless, driven by Playwright, against a real
BentoML server process (``shapserve serve``) reached through a proxy that serves it under a path prefix
(``/models/x``), with an API key.  Every test records every request the page makes (all must stay under
the proxy's prefix: nothing else is reachable, and nothing else may be asked for) and the console (no
errors), and checks what the page shows against /predict and scikit-learn."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest
from dash_helpers import add_cohort, behind_prefix, launch_chromium
from serving_helpers import LOAN_ROW
from sklearn.metrics import accuracy_score, precision_recall_fscore_support

pytestmark = pytest.mark.slow

KEY = "browser-key"
TABS = [
    "cohorts",
    "performance",
    "explorer",
    "importance",
    "individual",
    "whatif",
    "ice",
    "counterfactuals",
    "interactions",
]
AUTH = {"authorization": f"Bearer {KEY}"}


@dataclass
class Served:
    url: str  # the dashboard's base under the proxy's prefix, e.g. http://127.0.0.1:P/models/x
    direct: str  # the server itself

    def predict(self, rows: list[dict[str, Any]]) -> dict[str, Any]:
        return self.post("/predict", {"instances": rows})

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = httpx.post(self.direct + path, json=body, headers=AUTH, timeout=30)
        assert r.status_code == 200, r.text
        return dict(r.json())


@dataclass
class Recorded:
    page: Any
    requests: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def assert_clean(self, served: Served, allowed_errors: int = 0) -> None:
        outside = [u for u in self.requests if not u.startswith(served.url + "/")]
        assert not outside, outside
        assert len(self.errors) <= allowed_errors, self.errors


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in frame.to_dict("records")]


@pytest.fixture(scope="module")
def served(packaged: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    d = tmp_path_factory.mktemp("dash-server")
    with behind_prefix(
        packaged["loan"],
        d,
        SHAPSERVE_API_KEY=KEY,
        SHAPSERVE_STORE_URL=f"sqlite:///{d}/store.db",
        SHAPSERVE_DASHBOARD_PRELOAD="true",
    ) as (url, direct):
        yield Served(url, direct)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = launch_chromium(pw)
        yield b
        b.close()


def open_page(
    browser: Any, served: Served, *, key: bool = True, width: int = 1400, height: int = 950
) -> Recorded:
    context = browser.new_context(viewport={"width": width, "height": height})
    if key:
        context.add_init_script(f"sessionStorage.setItem('shapserve.key', {json.dumps(KEY)})")
    page = context.new_page()
    rec = Recorded(page)
    page.on("request", lambda r: rec.requests.append(r.url))
    page.on("console", lambda m: rec.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: rec.errors.append(str(e)))
    page.goto(served.url + "/dashboard")
    if key:
        page.wait_for_selector("body[data-state=ready]")
    return rec


def tab(page: Any, name: str) -> None:
    page.click(f"nav button[data-tab={name}]")
    page.wait_for_selector(f"#panel-{name}[data-status=ready]", timeout=60_000)


def settle(page: Any, name: str) -> None:
    page.wait_for_selector(f"#panel-{name}[data-status=ready]", timeout=60_000)


def test_every_tab_paints_under_a_prefix_with_nothing_from_elsewhere(
    browser: Any, served: Served, tmp_path: Path
) -> None:
    rec = open_page(browser, served)
    page = rec.page
    for name in TABS:
        tab(page, name)
        panel = page.locator(f"#panel-{name}")
        if name == "cohorts":
            assert "600" in panel.locator("#cohort-table").inner_text()
        elif name == "performance":  # its bars are drawn by svg_bars.js
            assert panel.locator("svg.bars").count() == 2, name
        else:
            assert panel.locator(".js-plotly-plot").count() >= 1, name
        page.screenshot(path=str(tmp_path / f"{name}.png"))
    facts = page.locator("#facts").inner_text()
    assert "log_odds" in facts and "fidelity" in facts
    # every explanation on the page states its output space and fidelity
    tab(page, "importance")
    page.wait_for_selector("#dep-plot.js-plotly-plot")
    assert page.locator("#panel-importance .explained").count() == 2  # the bars and the dependence plot
    tab(page, "individual")
    assert "Fidelity" in page.locator("#ind-head .explained").inner_text()
    assert float(page.locator("#ind-additivity .additivity").get_attribute("data-error")) < 1e-9
    rec.assert_clean(served)
    routes = {u.split("/models/x/", 1)[1].split("?")[0] for u in rec.requests}
    assert {
        "dashboard",
        "dashboard/api/packaged_sources",
        "dashboard/api/summary",
        "dashboard/api/ice",
        "dashboard/api/interactions",
        "explain",
        "explain_interactions",
        "counterfactuals",
    } <= routes
    assert {
        "dashboard/static/vendor/plotly-basic.min.js",
        "dashboard/static/svg_bars.js",
        "dashboard/static/interactions.js",
        "dashboard/static/counterfactuals.js",
    } <= routes


def test_the_stored_sources_are_listed_after_the_first_paint(browser: Any, served: Served) -> None:
    rec = open_page(browser, served)
    page = rec.page
    settle(page, "cohorts")
    first = page.eval_on_selector_all("#source option", "els => els.map(e => e.value)")
    packaged = httpx.get(served.direct + "/dashboard/api/packaged_sources", headers=AUTH).json()
    assert first == [s["id"] for s in packaged["sources"]] == ["eval", "sample"]
    assert not any(u.endswith("/dashboard/api/sources") for u in rec.requests)  # not before it is used
    page.hover("#source")
    full = httpx.get(served.direct + "/dashboard/api/sources", headers=AUTH).json()
    page.wait_for_function(
        f"() => document.querySelectorAll('#source option').length === {len(full['sources'])}"
    )
    listed = page.eval_on_selector_all("#source option", "els => els.map(e => e.value)")
    assert listed == [s["id"] for s in full["sources"]] and page.locator("#source").input_value() == "eval"
    rec.assert_clean(served)


def test_the_performance_bars_are_the_routes_shares(browser: Any, served: Served) -> None:
    rec = open_page(browser, served)
    page = rec.page
    add_cohort(page, "high income", "income", "gt", "40000")
    page.wait_for_selector("#cohort-table tr[data-cohort='1']")
    settle(page, "cohorts")
    with page.expect_request("**/dashboard/api/performance") as asked:
        tab(page, "performance")
    want = post_direct(served, "dashboard/api/performance", asked.value.post_data_json)
    assert len(want["cohorts"]) == 2
    for plot, counts in (("#perf-dist", "proba_counts"), ("#perf-second", "predicted_counts")):
        for k, cohort in enumerate(want["cohorts"]):
            bars = page.locator(f"{plot} svg.bars rect[data-series='{k}'][data-index]")
            shown = [float(v) for v in bars.evaluate_all("els => els.map(e => e.dataset.value)")]
            expected = np.asarray(cohort[counts], dtype=float) / max(cohort["n"], 1)
            np.testing.assert_allclose(shown, expected, rtol=0, atol=1e-12)
        names = page.locator(f"{plot} svg.bars .bars-legend text").all_text_contents()
        assert names == [c["name"] for c in want["cohorts"]]
    rec.assert_clean(served)


def test_the_key_field_unlocks_the_data(browser: Any, served: Served) -> None:
    rec = open_page(browser, served, key=False)
    page = rec.page
    page.wait_for_selector("body[data-state=needs-key]")
    assert "needs a key" in page.locator("#message").inner_text()
    page.fill("#key", KEY)
    page.click("#keyform button")
    page.wait_for_selector("body[data-state=ready]")
    settle(page, "cohorts")
    assert page.evaluate("sessionStorage.getItem('shapserve.key')") == KEY
    # the one 401 of the first, keyless request is logged by the browser itself
    rec.assert_clean(served, allowed_errors=1)
    assert all("401" in e for e in rec.errors)


def test_a_cohort_filter_changes_the_metrics_to_scikit_learns(
    browser: Any, served: Served, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "cohorts")
    add_cohort(page, "high income", "income", "gt", "40000")
    page.wait_for_selector("#cohort-table tr[data-cohort='1']")
    settle(page, "cohorts")
    x, y = loan_eval
    rich = (x["income"] > 40000).to_numpy()
    assert page.locator("#cohort-table tr[data-cohort='1'] td[data-metric=n]").inner_text() == str(rich.sum())
    tab(page, "performance")
    pred = []
    for i in range(0, len(x), 300):
        pred += served.predict(records(x.iloc[i : i + 300]))["predictions"]
    pred_arr = np.asarray(pred)

    def shown(cohort: int, metric: str, cls: str | None = None) -> float:
        sel = f"#metrics-table td[data-cohort='{cohort}'][data-metric='{metric}']"
        if cls is not None:
            sel += f"[data-class='{cls}']"
        return float(page.locator(sel).get_attribute("data-value"))

    labels = ["approved", "denied"]
    for cohort, sel in ((0, np.ones(len(x), bool)), (1, rich)):
        yt, yp = y.to_numpy()[sel], pred_arr[sel]
        assert shown(cohort, "n") == sel.sum()
        assert shown(cohort, "accuracy") == pytest.approx(accuracy_score(yt, yp), abs=1e-12)
        p, r, f, _ = precision_recall_fscore_support(yt, yp, labels=labels, zero_division=0)
        for k, cls in enumerate(labels):
            assert shown(cohort, "precision", cls) == pytest.approx(p[k], abs=1e-12)
            assert shown(cohort, "recall", cls) == pytest.approx(r[k], abs=1e-12)
            assert shown(cohort, "f1", cls) == pytest.approx(f[k], abs=1e-12)
    assert shown(0, "accuracy") != shown(1, "accuracy")  # the filter changed what is shown
    rec.assert_clean(served)


def test_what_if_shows_what_predict_returns_for_the_edited_row(
    browser: Any, served: Served, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "whatif")
    page.wait_for_selector("#whatif-prediction")
    original = records(loan_eval[0].iloc[[0]])[0]
    before = json.loads(page.locator("#whatif-probabilities").get_attribute("data-values"))
    assert before == pytest.approx(served.predict([original])["probabilities"][0], abs=1e-12)
    page.fill(".wi-input[data-feature=debt_ratio]", "1.2")
    page.select_option(".wi-input[data-feature=housing]", "")  # missing, from the list
    page.check(".wi-missing[data-feature=income]")
    page.click("#whatif-run")
    edited = {**original, "debt_ratio": 1.2, "housing": None, "income": None}
    page.wait_for_function(
        "() => { const w = window.shapserveDashboard.last.whatif; return w && w.instance.debt_ratio === 1.2 "
        "&& w.instance.housing === null && w.instance.income === null; }"
    )
    settle(page, "whatif")
    expected = served.predict([edited])
    assert page.locator("#whatif-prediction").inner_text() == expected["predictions"][0]
    after = json.loads(page.locator("#whatif-probabilities").get_attribute("data-values"))
    assert after == pytest.approx(expected["probabilities"][0], abs=1e-12)
    assert after != pytest.approx(before, abs=1e-6)
    assert float(page.locator("#whatif-additivity .additivity").get_attribute("data-error")) < 1e-9
    assert "log_odds" in page.locator("#whatif-result .explained").inner_text()
    # the error estimate beside the explanation: the route's per-row sigma as "± 2 sigma", and per feature
    est = served.post("/explain", {"instances": [edited], "error_estimate": True})["error_estimate"]
    line = page.locator("#whatif-error-line")
    assert float(line.get_attribute("data-sigma")) == est["rows"][0] > 0
    assert "(2σ)" in line.inner_text() and line.inner_text().startswith("± ")
    k = expected["classes"].index(expected["predictions"][0])
    assert json.loads(line.get_attribute("data-values")) == est["values"][0][k]
    bars = page.evaluate("document.querySelector('#whatif-plot').data[0].error_x.array")
    assert sorted(bars) == pytest.approx(sorted(2 * v for v in est["values"][0][k]), rel=1e-12)  # 7 features
    page.click("#whatif-save")
    page.wait_for_selector("#whatif-saved")
    # ... and in Individual importance, the saved row explained live with its estimate per feature
    tab(page, "individual")
    page.select_option("#ind-session", "0")
    page.wait_for_selector("#ind-error-line")
    settle(page, "individual")
    assert float(page.locator("#ind-error-line").get_attribute("data-sigma")) == est["rows"][0]
    cells = page.locator("#ind-values td.sigma").evaluate_all(
        "els => els.map((e) => Number(e.dataset.sigma))"
    )
    assert cells == est["values"][0][k]
    # the saved point is a row of the session: ICE sweeps it live
    tab(page, "ice")
    page.select_option("#ice-session", "0")
    settle(page, "ice")
    page.wait_for_function("() => window.shapserveDashboard.last.ice.curves[0].name === 'session row 1'")
    rec.assert_clean(served)


def test_ice_curve_is_predict_on_the_same_grid(
    browser: Any, served: Served, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "ice")
    page.fill("#ice-row", "7")
    page.click("#ice-show")
    settle(page, "ice")
    page.select_option("#ice-feature", "years_employed")
    page.fill("#ice-grid", "9")
    page.dispatch_event("#ice-grid", "change")
    page.wait_for_function(
        "() => { const i = window.shapserveDashboard.last.ice; return i && i.feature === 'years_employed' "
        "&& i.grid.length === 9 && i.curves[0].row === 7; }"
    )
    settle(page, "ice")
    drawn = page.evaluate(
        "() => document.getElementById('ice-plot').data.map(t => ({name: t.name, x: t.x, y: t.y}))"
    )
    assert drawn[0]["name"] == "row 7" and drawn[1]["name"].startswith("partial dependence")
    base = records(loan_eval[0].iloc[[7]])[0]
    rows = [{**base, "years_employed": g} for g in drawn[0]["x"]]
    expected = served.predict(rows)
    k = expected["classes"].index(page.locator("#ice-class").input_value())
    assert drawn[0]["y"] == pytest.approx([p[k] for p in expected["probabilities"]], abs=1e-12)
    rec.assert_clean(served)


def test_clicking_a_point_or_a_bar_selects_it(browser: Any, served: Served) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "individual")
    # the most isolated point of the picking plot, clicked with the mouse
    target = page.evaluate(
        """() => {
        const gd = document.getElementById('ind-pick'), t = gd.data[0];
        const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
        const box = gd.querySelector('.nsewdrag').getBoundingClientRect();
        const pts = t.x.map((x, i) => [box.left + xa.d2p(x), box.top + ya.d2p(t.y[i]), t.customdata[i]]);
        let best = null, far = -1;
        for (const p of pts) {
          let near = Infinity;
          for (const q of pts) if (q !== p) near = Math.min(near, Math.hypot(p[0] - q[0], p[1] - q[1]));
          if (near > far) { far = near; best = p; }
        }
        return best;
      }"""
    )
    page.mouse.move(target[0], target[1])
    page.mouse.click(target[0], target[1])
    page.wait_for_function(
        f"() => document.querySelector('#ind-head h3')?.textContent === 'Selected: row {target[2]}'"
    )
    settle(page, "individual")
    tab(page, "importance")
    page.wait_for_selector("#dep-plot.js-plotly-plot")
    # the top-k slider redraws the bars in place
    page.eval_on_selector("#imp-topk", "el => { el.value = 3; el.dispatchEvent(new Event('input')); }")
    page.wait_for_function("() => document.querySelectorAll('#imp-plot .bars .point').length === 3")
    name = page.evaluate("() => document.getElementById('imp-plot').data[0].y[0]")
    # a real click on the bar, through the layer Plotly draws over it
    bar = page.locator("#imp-plot .bars .point path").first.bounding_box()
    page.mouse.move(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.mouse.click(bar["x"] + bar["width"] / 2, bar["y"] + bar["height"] / 2)
    page.wait_for_function(
        f"() => document.querySelector('#dependence h3').textContent === 'Dependence: {name}'"
    )
    page.wait_for_function(f"() => window.shapserveDashboard.last.dependence.feature === '{name}'")
    rec.assert_clean(served)


PAINTED = """([id, points]) => {
  // the alpha of the canvas's pixel at each [x, y] (data coordinates) of the plot #id
  const gd = document.getElementById(id), cv = gd.querySelector('canvas.canvas-points');
  if (!cv) return null;
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis, k = cv.width / parseFloat(cv.style.width);
  const px = cv.getContext('2d').getImageData(0, 0, cv.width, cv.height).data;
  return points.map(([x, y]) => px[4 * (Math.round(ya.d2p(y) * k) * cv.width + Math.round(xa.d2p(x) * k)) + 3]);
}"""


def test_a_large_scatter_is_painted_on_a_canvas_with_the_routes_points(browser: Any, served: Served) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "explorer")
    body = {
        "source": page.evaluate("window.shapserveDashboard.source"),
        "cohorts": [{"name": "All data", "filters": []}],
        "chart": "scatter",
        **{a: page.locator(f"#explore-{a}").input_value() for a in ("x", "y", "color")},
    }
    r = httpx.post(served.direct + "/dashboard/api/explore", json=body, headers=AUTH, timeout=30)
    assert r.status_code == 200, r.text
    want = r.json()["cohorts"][0]
    assert len(want["rows"]) >= 300  # enough points to be painted on the canvas (canvas_points.js MIN_POINTS)
    traces = page.evaluate(
        "[...document.querySelectorAll('#explore-plots .js-plotly-plot')][0].data"
        ".map(t => ({name: t.name, mode: t.mode, x: t.x, y: t.y, rows: t.customdata}))"
    )
    drawn = [t for t in traces if t["mode"] == "none"]  # the points; the rest are their legend entries
    got = {row: (x, y) for t in drawn for row, x, y in zip(t["rows"], t["x"], t["y"], strict=True)}
    assert got == {row: (x, y) for row, x, y in zip(want["rows"], want["x"], want["y"], strict=True)}
    assert page.locator("#explore-plots .scatterlayer .point").count() == 0  # no SVG point per row
    page.evaluate(
        "el => el.id = 'explore-first'", page.locator("#explore-plots .js-plotly-plot").first.element_handle()
    )
    alphas = page.evaluate(PAINTED, ["explore-first", [[x, y] for x, y in got.values()]])
    assert min(alphas) > 0  # every point painted where its axes put it
    # hiding a category from its legend entry repaints the canvas without its points
    page.locator("#explore-first .legend .traces", has_text=drawn[0]["name"]).locator(
        "rect.legendtoggle"
    ).click()
    page.wait_for_function(f"""() => {{
      // the first category's points with no other point within 8 px: transparent now
      const gd = document.getElementById('explore-first'), xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
      const px = (t) => t.x.map((x, i) => [xa.d2p(x), ya.d2p(t.y[i]), x, t.y[i]]);
      const drawn = gd.data.filter(t => t.mode === 'none'), others = drawn.slice(1).flatMap(px);
      const alone = px(drawn[0]).filter(p => others.every(q => Math.hypot(p[0] - q[0], p[1] - q[1]) > 8));
      const alphas = ({PAINTED})(['explore-first', alone.map(p => [p[2], p[3]])]);
      return alone.length > 0 && alphas.every(a => a === 0);
    }}""")
    rec.assert_clean(served)


def test_switching_to_the_training_sample_and_a_stored_explanation(browser: Any, served: Served) -> None:
    answer = httpx.post(
        served.direct + "/explain",
        json={"instances": records(pd.DataFrame([ROW, ROW]))},
        headers=AUTH,
        timeout=30,
    ).json()
    up = httpx.post(
        served.direct + "/explanations", json={"explanation": answer, "comment": "two rows"}, headers=AUTH
    )
    assert up.status_code == 200, up.text
    rec = open_page(browser, served)
    page = rec.page
    page.hover("#source")  # the store's sources are listed when the list is about to be used
    page.select_option("#source", "sample")
    page.wait_for_function("() => window.shapserveDashboard.summary?.source.id === 'sample'")
    tab(page, "performance")
    assert "no true labels" in page.locator("#perf-metrics").inner_text()
    tab(page, "ice")
    page.select_option("#source", "stored:" + up.json()["id"])
    page.wait_for_function("() => window.shapserveDashboard.summary?.source.kind === 'local'")
    assert page.locator("nav button[data-tab=whatif]").is_disabled()
    assert page.locator("nav button[data-tab=ice]").is_disabled()
    tab(page, "importance")
    assert page.evaluate("() => window.shapserveDashboard.last.importance.cohorts[0].n_used") == 2
    tab(page, "individual")
    assert "stored explanation" in page.locator("#ind-head .explained").inner_text()
    rec.assert_clean(served)


ROW = LOAN_ROW


def post_direct(served: Served, route: str, body: dict[str, Any]) -> dict[str, Any]:
    r = httpx.post(served.direct + "/" + route, json=body, headers=AUTH, timeout=60)
    assert r.status_code == 200, r.text
    return dict(r.json())


def shown_matrix(page: Any, table: str) -> np.ndarray:
    cells = page.locator(f"#{table} td[data-value]")
    values = [
        (int(c.get_attribute("data-i")), int(c.get_attribute("data-j")), c.get_attribute("data-value"))
        for c in cells.all()
    ]
    m = max(i for i, _, _ in values) + 1
    out = np.full((m, m), np.nan)
    for i, j, v in values:
        out[i, j] = float(v)
    return out


def test_interaction_heat_maps_and_dependence_show_the_routes_values(
    browser: Any, served: Served, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "interactions")
    page.wait_for_selector("#int-dep-plot.js-plotly-plot")
    page.wait_for_selector("#int-rowmap #int-row-table")  # visible
    x, _ = loan_eval
    cls = page.locator("#int-class").input_value()
    # one row: the matrix /explain_interactions gives for row 0, the chosen class
    direct = post_direct(served, "explain_interactions", {"instances": records(x.iloc[[0]])})
    k = direct["classes"].index(cls)
    np.testing.assert_allclose(
        shown_matrix(page, "int-row-table"), direct["interaction_values"][0][k], rtol=0, atol=0
    )
    # the cohort: mean |value| over the rows the page says it used, from /explain_interactions
    state = page.evaluate("window.shapserveDashboard.last.interactions")
    rows = state["rows"]
    assert len(rows) == 100 and state["n_cohort"] == len(x)
    many = post_direct(served, "explain_interactions", {"instances": records(x.iloc[rows])})
    mean_abs = np.abs(np.asarray(many["interaction_values"], dtype=float)[:, k]).mean(axis=0)
    np.testing.assert_allclose(shown_matrix(page, "int-cohort-table"), mean_abs, rtol=1e-12, atol=1e-15)
    # the dependence plot: the feature's values and its SHAP values on those rows
    feature = page.locator("#int-feature").input_value()
    j = many["features"].index(feature)
    trace = page.evaluate("document.querySelector('#int-dep-plot').data[0]")
    shap = np.asarray(many["local_importance_values"], dtype=float)[:, k, j]
    np.testing.assert_allclose(trace["y"], shap, rtol=1e-9, atol=1e-12)
    assert trace["x"] == [r[feature] for r in records(x.iloc[rows])]
    rec.assert_clean(served)


def test_counterfactuals_panel_shows_the_route_and_opens_one_in_what_if(
    browser: Any, served: Served, loan_eval: tuple[pd.DataFrame, pd.Series]
) -> None:
    rec = open_page(browser, served)
    page = rec.page
    tab(page, "counterfactuals")
    page.wait_for_selector("#cf-found")
    page.uncheck(".cf-may[value=income]")
    page.fill("#cf-count", "2")
    page.click("#cf-run")
    page.wait_for_function("() => window.shapserveDashboard.last.counterfactuals.request.count === 2")
    settle(page, "counterfactuals")
    x, _ = loan_eval
    row = records(x.iloc[[0]])[0]
    target = page.locator("#cf-target").input_value()
    assert target != served.predict([row])["predictions"][0]
    direct = post_direct(
        served,
        "counterfactuals",
        {"instances": [row], "target": target, "count": 2, "constraints": {"fixed": ["income"]}},
    )
    found = direct["rows"][0]["counterfactuals"]
    assert len(found) >= 1
    assert int(page.locator("#cf-found").get_attribute("data-found")) == len(found)
    for i, cf in enumerate(found):
        assert "income" not in cf["changes"]
        assert (
            json.loads(page.locator(f".cf-prediction[data-cf='{i}']").get_attribute("data-value")) == target
        )
        assert (
            float(page.locator(f".cf-distance[data-cf='{i}']").get_attribute("data-value")) == cf["distance"]
        )
        for name in cf["changes"]:
            cell = page.locator(f"#cf-table td[data-cf='{i}'][data-feature='{name}']")
            assert json.loads(cell.get_attribute("data-value")) == cf["instance"][name]
            assert "changed" in cell.get_attribute("class")
    # open the first in What-if: the edited row is the counterfactual, predicted as the target
    page.click("#cf-open-0")
    settle(page, "whatif")
    page.wait_for_selector("#whatif-prediction")
    page.wait_for_function("() => window.shapserveDashboard.last.whatif")
    instance = page.evaluate("window.shapserveDashboard.last.whatif.instance")
    assert instance == found[0]["instance"]
    assert page.locator("#whatif-prediction").inner_text() == target
    probs = json.loads(page.locator("#whatif-probabilities").get_attribute("data-values"))
    assert probs == pytest.approx(found[0]["probabilities"], abs=1e-12)
    rec.assert_clean(served)


FITS = """() => {
  // what a 390 px screen shows wrong: a page wider than the screen, a plot not as wide as its box, a title or
  // axis title cut off at its plot's edge, a legend over the x axis' title
  const out = [], w = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth > w) out.push('page ' + document.documentElement.scrollWidth + ' > ' + w);
  for (const gd of document.querySelectorAll('.panel:not([hidden]) .js-plotly-plot')) {
    const box = gd.getBoundingClientRect(), svg = gd.querySelector('svg.main-svg');
    if (Math.abs(Number(svg.getAttribute('width')) - gd.clientWidth) > 1) out.push(gd.id + ' drawn ' + svg.getAttribute('width') + ' wide in ' + gd.clientWidth);
    for (const t of gd.querySelectorAll('.gtitle, .xtitle, .ytitle')) {
      const r = t.getBoundingClientRect();
      if (r.left < box.left - 1 || r.right > box.right + 1) out.push(gd.id + ' ' + t.getAttribute('class') + ' cut: ' + t.textContent);
    }
    const entries = [...gd.querySelectorAll('.legend .legendtext')], xt = gd.querySelector('.xtitle');
    if (xt && entries.some((e) => e.getBoundingClientRect().top < xt.getBoundingClientRect().bottom)) out.push(gd.id + ' legend over the x title');
  }
  return out;
}"""


def test_at_390_px_every_view_fits_the_screen(browser: Any, served: Served) -> None:
    long = "a nightly run of the loan model with a comment as long as people write them, " * 2
    answer = served.post("/explain", {"instances": [ROW]})
    served.post("/explanations", {"explanation": answer, "comment": long.strip()})
    rec = open_page(browser, served, width=390, height=850)
    page = rec.page
    page.hover("#source")  # the store's sources are listed: one has a long title
    page.wait_for_function(
        "() => [...document.querySelectorAll('#source option')].some(o => o.text.includes('nightly'))"
    )
    # the user moves on while the explorer loads: its plots are drawn in a hidden panel
    page.evaluate(
        "() => { document.querySelector('nav button[data-tab=explorer]').click();"
        " document.querySelector('nav button[data-tab=cohorts]').click(); }"
    )
    page.wait_for_selector("#panel-explorer[data-status=ready]", state="attached", timeout=60_000)
    for name in ("explorer", "importance", "individual", "whatif", "counterfactuals", "interactions"):
        tab(page, name)
        if name == "importance":
            page.wait_for_selector("#dep-plot.js-plotly-plot")
        if name == "whatif":
            page.wait_for_selector("#whatif-plot.js-plotly-plot")
        assert page.evaluate(FITS) == [], name
    found = page.locator("#cf-found").inner_text()  # the target in words, not as JSON
    assert "reaching class approved;" in found or "reaching class denied;" in found, found
    rec.assert_clean(served)
