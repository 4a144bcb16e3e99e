"""The dashboard at size: first paint of every tab with 1,000,000 evaluation rows x 30 features (``--rows``),
in Debian's chromium (headless, Playwright) against a real server process (``shapserve serve``) on this
machine.

    .venv/bin/python -m benchmarks.dashboard --model lgbm            # 1,000,000 rows, timings only
    .venv/bin/python -m benchmarks.dashboard --rows 100000           # both models at 100,000 rows
    .venv/bin/python -m benchmarks.dashboard --model svc --rows 100000 --screenshots   # docs/dashboard/*.png
    .venv/bin/python -m benchmarks.dashboard --model lgbm --tag bench-dashboard-lgbm:VERSION   # no packaging

Models, each packaged with ``--rows`` labelled evaluation rows (``--eval-data``; no global explanation is
computed at packaging, which would explain all of them):

- ``svc``: the seed's ``SVC(gamma=0.001, C=100, probability=True)`` on the breast cancer data (30
  features), explained by the kernel-machine scorer (about 12 ms per row here); the rows are the test
  split's rows with 5% multiplicative noise, labelled with their row's diagnosis.
- ``lgbm``: a LightGBM classifier on 30 generated features (the tree scorer).

"First paint" is the time from the click on a tab to the moment its plots are drawn (the panel's
``data-status`` turns ``ready``), measured by the page's clock.  ``cold`` is the first page load on a
fresh worker (the rows are read and predicted in full on the first data request; the SHAP sample is
explained in the background), ``warm`` the same page sent back to ``#cohorts`` afterwards (only the URL's
hash changes, so chromium does not reload it: every tab's plots are already drawn once, as on a user's
second visit to a tab).  ``cohort_change_ms``: on the warm page, the
time from defining a new cohort (one filter) to the answers the page asks for then (``/cohorts`` and the
open tab's data, here the performance and the dataset explorer's), each best of 5 and measured by the
page's clock; ``cohort_change_page_ms``: the same on the page itself, per open tab: a new one-filter
cohort compared beside all rows, from the change to the tab's plots redrawn (best of 3);
``tab_switch_ms``: the warm tabs' first paints.  ``worker_memory_mb``: the serving processes' resident set (RSS), and their unique set (USS, what the process holds alone: the memory-mapped
columns are shared file pages), after every tab was painted.  Nothing here is asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dashboard"))
sys.path.insert(0, str(ROOT / "tests"))  # serving_helpers, shared by the test folders
os.environ.setdefault("BENTOML_HOME", str(ROOT / ".bentoml"))
os.environ["BENTOML_DO_NOT_TRACK"] = "true"

from dash_helpers import add_cohort, free_port, launch_chromium, serve, stop, wait_ready  # noqa: E402

TABS = ["cohorts", "performance", "explorer", "importance", "individual", "whatif", "ice"]
ROWS = 1_000_000  # --rows
SHOTS = ROOT / "docs" / "dashboard"


def _svc_data() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    from scorers.examples import breast_cancer_svc

    model, x_train, x_test, y_train, y_test = breast_cancer_svc()
    rng = np.random.default_rng(0)
    pick = rng.integers(0, len(x_test), ROWS)
    rows = x_test.iloc[pick].reset_index(drop=True) * rng.normal(1.0, 0.05, (ROWS, x_test.shape[1]))
    rows["diagnosis"] = y_test.to_numpy()[pick]
    return model, x_train, rows


def _lgbm_data() -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    from lightgbm import LGBMClassifier

    rng = np.random.default_rng(1)
    m = 30
    x = pd.DataFrame(rng.normal(size=(ROWS + 5000, m)), columns=[f"f{j:02d}" for j in range(m)])
    z = x.to_numpy()
    logit = (
        z[:, 0]
        + np.sin(2 * z[:, 1]) * z[:, 2]
        + 0.5 * z[:, 3] * z[:, 4]
        - 0.7 * z[:, 5]
        + 0.3 * z[:, 6:12].sum(1)
    )
    y = np.where(logit + rng.normal(size=len(z)) > 0, "yes", "no")
    model = LGBMClassifier(n_estimators=100, num_leaves=15, verbose=-1).fit(x.iloc[:5000], y[:5000])
    rows = x.iloc[5000:].reset_index(drop=True).assign(diagnosis=y[5000:])
    return model, x.iloc[:5000], rows


def package(name: str) -> str:
    from cli.bento import package as package_model

    warnings.simplefilter("ignore")
    model, train, rows = {"svc": _svc_data, "lgbm": _lgbm_data}[name]()
    t0 = time.perf_counter()
    out = package_model(
        model,
        train,
        name=f"bench-dashboard-{name}",
        progress=lambda _m: None,
        eval_data=rows,
        eval_target="diagnosis",
        global_kinds=[],
    )
    print(
        f"[{name}] packaged {ROWS:,} evaluation rows x {train.shape[1]} features in {time.perf_counter() - t0:.1f} s"
    )
    return str(out["model_tag"])


PAINT = """async (tab) => {
  const panel = document.getElementById('panel-' + tab);
  const t0 = performance.now();
  document.querySelector('nav button[data-tab=' + tab + ']').click();
  while (panel.dataset.status !== 'ready') {
    if (panel.dataset.status === 'error') throw new Error(document.getElementById('message').textContent);
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now() - t0;
}"""


SHAP_DONE = """async () => {
  const r = await fetch('dashboard/api/summary', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'});
  return (await r.json()).shap.complete;
}"""


COHORT_CHANGE = """async (n) => {
  const post = (path, body) => fetch('dashboard/api/' + path, {method: 'POST',
    headers: {'Content-Type': 'application/json'}, body: JSON.stringify(body)}).then((r) => r.json());
  const best = {};
  for (let i = 0; i < n; i++) {
    const cohorts = [{name: 'All data', filters: []},
      {name: 'changed ' + i, filters: [{field: 'f00', op: 'gt', value: 0.1 * i}, {field: '@error', op: 'in', value: ['wrong']}]}];
    for (const [name, path, body] of [
      ['cohorts', 'cohorts', {cohorts}],
      ['performance', 'performance', {cohorts}],
      ['explore_histogram', 'explore', {cohorts, chart: 'histogram', x: 'f01', color: '@label'}],
      ['explore_scatter', 'explore', {cohorts, chart: 'scatter', x: 'f01', y: 'f02', color: '@label'}],
      ['importance', 'importance', {cohorts, kind: 'shap'}],
    ]) {
      const t0 = performance.now();
      await post(path, body);
      const ms = performance.now() - t0;
      best[name] = Math.min(best[name] ?? Infinity, ms);
    }
  }
  return best;
}"""


COHORT_PAINT = """async ([tab, n]) => {
  // on the open tab: a new cohort compared beside all rows, from the change to the redrawn plots (best of n)
  const S = window.shapserveDashboard, panel = document.getElementById('panel-' + tab), act = document.getElementById('active-cohort');
  let best = Infinity;
  for (let i = 0; i < n; i++) {
    S.cohorts = [{name: 'All data', filters: []}, {name: 'page ' + i, filters: [{field: 'f00', op: 'gt', value: 0.1 * (i + 1)}]}];
    S.compare = [0, 1];
    const t0 = performance.now();
    act.dispatchEvent(new Event('change'));
    while (panel.dataset.status !== 'ready') {
      if (panel.dataset.status === 'error') throw new Error(document.getElementById('message').textContent);
      await new Promise((r) => setTimeout(r, 5));
    }
    best = Math.min(best, performance.now() - t0);
  }
  S.cohorts = [{name: 'All data', filters: []}]; S.compare = [0];
  return best;
}"""


def worker_memory(proc: Any) -> dict[str, float]:
    """RSS and USS (MB) of the server's processes (the BentoML server and its worker)."""
    import psutil

    out = {}
    for p in [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]:
        try:
            info = p.memory_full_info()
        except psutil.Error:
            continue
        name = " ".join(p.cmdline()[1:3])[-40:]
        out[f"{p.pid} {name}"] = {"rss": round(info.rss / 2**20), "uss": round(info.uss / 2**20)}
    return out


def paint_all(page: Any, url: str) -> tuple[float, dict[str, float]]:
    """Load the page; the time to the first painted tab, then each tab's first paint (ms)."""
    t0 = time.perf_counter()
    page.goto(url + "/dashboard#cohorts")
    page.wait_for_selector("#panel-cohorts[data-status=ready]", timeout=300_000)
    load = (time.perf_counter() - t0) * 1000
    times = {tab: float(page.evaluate(PAINT, tab)) for tab in TABS}
    return load, times


def shap_status(page: Any) -> str:
    s = page.evaluate("() => window.shapserveDashboard.summary.shap")
    return f"{s['rows_done']}/{s['rows_total']}"


def bench(name: str, screenshots: bool, tag: str | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    tag = tag or package(name)
    result: dict[str, Any] = {"model": name, "rows": ROWS}
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    # a worker that loads the dashboard's data when it starts (SHAPSERVE_DASHBOARD_PRELOAD), opened 10 s
    # after it reported ready
    proc = serve(tag, port, Path(f"/tmp/bench-dashboard-{name}.log"), SHAPSERVE_DASHBOARD_PRELOAD="true")
    try:
        wait_ready(url, proc, timeout=300)
        time.sleep(10)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 950})
            load, pre = paint_all(page, url)
            result["preloaded"] = {
                "page_to_first_tab_ms": round(load),
                **{k: round(v) for k, v in pre.items()},
            }
            result["preloaded"]["shap_rows_at_importance"] = shap_status(page)
            browser.close()
    finally:
        stop(proc)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = serve(tag, port, Path(f"/tmp/bench-dashboard-{name}.log"))
    try:
        wait_ready(url, proc, timeout=300)
        with sync_playwright() as pw:
            browser = launch_chromium(pw)
            page = browser.new_page(viewport={"width": 1400, "height": 950})
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            load, cold = paint_all(page, url)
            result["cold"] = {"page_to_first_tab_ms": round(load), **{k: round(v) for k, v in cold.items()}}
            result["cold"]["shap_rows_at_importance"] = shap_status(page)
            t0 = time.perf_counter()
            while not page.evaluate(SHAP_DONE):
                time.sleep(1)
            result["shap_sample_done_after_s"] = round(time.perf_counter() - t0, 1)
            load, warm = paint_all(page, url)
            result["warm"] = {"page_to_first_tab_ms": round(load), **{k: round(v) for k, v in warm.items()}}
            result["tab_switch_ms"] = {k: round(v) for k, v in warm.items()}
            if name == "lgbm":
                result["cohort_change_ms"] = {k: round(v) for k, v in page.evaluate(COHORT_CHANGE, 5).items()}
                result["cohort_change_page_ms"] = {}
                for tab in ["performance", "explorer", "importance", "individual"]:
                    page.evaluate(PAINT, tab)
                    result["cohort_change_page_ms"][tab] = round(page.evaluate(COHORT_PAINT, [tab, 3]))
            result["worker_memory_mb"] = worker_memory(proc)
            result["console_errors"] = errors
            if screenshots:
                take_screenshots(page, url)
            browser.close()
    finally:
        stop(proc)
    return result


def take_screenshots(page: Any, url: str) -> None:
    """One PNG per tab into docs/dashboard/, with two cohorts compared and a what-if edit."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(url + "/dashboard#cohorts")
    page.wait_for_selector("#panel-cohorts[data-status=ready]")
    add_cohort(page, "large tumours", "worst area", "gt", "1000")
    page.wait_for_selector("#cohort-table tr[data-cohort='1']")
    page.wait_for_selector("#panel-cohorts[data-status=ready]")
    page.click("#cohort-new")
    page.fill("#cohort-name", "misclassified")
    page.click("#cohort-add-filter")
    row = page.locator("#cohort-editor .filter").first
    row.locator("select.field").select_option("@error")
    row.locator("input.cat[value=wrong]").check()
    page.wait_for_timeout(200)
    page.screenshot(path=str(SHOTS / "cohorts.png"))
    page.click("#cohort-save")
    page.wait_for_selector("#cohort-table tr[data-cohort='2']")
    for tab in TABS[1:]:
        page.evaluate(PAINT, tab)
        if tab == "importance":
            page.wait_for_selector("#dep-plot.js-plotly-plot")
        if tab == "whatif":
            page.fill(".wi-input[data-feature='worst concave points']", "0.25")
            page.click("#whatif-run")
            page.wait_for_function(
                "() => window.shapserveDashboard.last.whatif?.instance['worst concave points'] === 0.25"
            )
        page.mouse.move(1, 1)  # no hover label or mode bar in the picture
        page.wait_for_timeout(700)  # Plotly's transitions
        page.screenshot(path=str(SHOTS / f"{tab}.png"), full_page=True)
    print(f"screenshots in {SHOTS}")


def main() -> None:
    global ROWS
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=["svc", "lgbm", "all"], default="all")
    parser.add_argument("--screenshots", action="store_true", help="save each tab into docs/dashboard/ (svc)")
    parser.add_argument("--rows", type=int, default=ROWS, help="evaluation rows (default 1,000,000)")
    parser.add_argument(
        "--tag", help="a model this benchmark packaged before (with one --model): not packaged again"
    )
    args = parser.parse_args()
    ROWS = args.rows
    names = ["svc", "lgbm"] if args.model == "all" else [args.model]
    for name in names:
        print(json.dumps(bench(name, args.screenshots and name == "svc", args.tag), indent=1))


if __name__ == "__main__":
    main()
