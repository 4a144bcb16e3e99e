/* shapserve dashboard: the Monitoring tab (docs/monitoring.md#over-time).
 *
 * Drift over time of the /explain answers the store recorded, from GET monitoring/history (relative to
 * the page, so it works under a path prefix): per time bucket, the attribution drift (largest PSI of the
 * SHAP values, nDCG of the ranking) and the input drift (largest PSI of the inputs) against the packaging
 * baseline, and the features whose attribution share moved most.  Registered on window.shapserveTabs
 * (dashboard.js runs it with its helpers); every number shown is the server's, as it sent it.
 */
(function () {
  "use strict";

  let LIB, D, api, plot, h, fmt, $, storageKey; // the dashboard's state and helpers, given at each render
  const BUCKETS = [["60", "minute"], ["3600", "hour"], ["86400", "day"]];

  function query(panel) {
    const q = new URLSearchParams({ bucket_seconds: $("#mon-bucket", panel).value });
    const since = $("#mon-since", panel).value.trim();
    if (since) q.set("since", since);
    return "monitoring/history?" + q.toString();
  }

  function build(panel) {
    const bucket = h("select", { id: "mon-bucket" }, ...BUCKETS.map(([v, label]) => h("option", { value: v, selected: v === "3600", text: label })));
    const since = h("input", { id: "mon-since", type: "text", size: 22, placeholder: "since (ISO time, optional)" });
    const go = h("button", { id: "mon-refresh", class: "act", text: "Refresh" });
    const compare = h("button", { id: "mon-compare", class: "alt", text: "Compare since then in every tab" });
    bucket.addEventListener("change", () => LIB.rerender());
    go.addEventListener("click", () => LIB.rerender());
    compare.addEventListener("click", () => compareSince(panel).catch((err) => LIB.message(err.message)));
    panel.append(
      h("h2", { text: "Drift over time" }),
      h("p", { class: "hint", text: "The /explain answers the store recorded (SHAPSERVE_STORE_RECORD_SAMPLE_RATE), per time bucket, against the baseline stored at packaging; the same scores as GET /monitoring. A bucket alerts only from its minimum rows." }),
      h("div", { class: "controls" }, h("label", {}, "Bucket", bucket), h("label", {}, "Since", since), go, compare),
      h("div", { id: "mon-cards", class: "cards" }),
      h("div", { class: "row" }, h("div", { id: "mon-plot", class: "plot" }), h("div", { id: "mon-moved-plot", class: "plot" })),
      h("h3", { text: "Features whose attribution share moved most" }),
      h("div", { id: "mon-moved" }),
      h("h3", { text: "Buckets" }),
      h("div", { id: "mon-buckets" }));
  }

  const time = (s) => new Date(s * 1000).toISOString().replace(".000Z", "Z");
  const cell = (v, digits) => h("td", { "data-value": v === null ? "null" : String(v), text: fmt(v, digits) });

  function cards(res) {
    const o = res.overall, a = o.attribution_drift, i = o.input_drift;
    const card = (id, label, value, extra) => h("div", { class: "card", id }, h("div", { class: "label", text: label }),
      h("div", { class: "big", "data-value": String(value), text: fmt(value) }), h("div", { class: "hint", text: extra }));
    return [
      card("mon-rows", "Recorded rows", res.rows, `${res.buckets.length} buckets of ${fmt(res.bucket_seconds)} s`),
      card("mon-attr", "Attribution drift (all rows)", a.score, `threshold ${a.threshold}; nDCG ${fmt(a.ndcg)} (alert below ${a.ndcg_threshold})`),
      card("mon-input", "Input drift (all rows)", i.score, `threshold ${i.threshold}`),
    ];
  }

  function movedTable(res) {
    const rows = res.moved.map((m) => h("tr", { "data-feature": m.feature }, h("td", { text: m.feature }),
      cell(m.attribution_share), cell(m.baseline_attribution_share), cell(m.change)));
    return h("table", { class: "grid", id: "mon-moved-table" },
      h("thead", {}, h("tr", {}, ...["feature", "share now", "share at packaging", "change"].map((t) => h("th", { text: t })))),
      h("tbody", {}, ...rows));
  }

  function bucketTable(res) {
    const rows = res.buckets.map((b) => h("tr", { "data-start": String(b.start) }, h("td", { text: time(b.start) }),
      cell(b.window_rows), cell(b.attribution_drift.score), cell(b.attribution_drift.ndcg), cell(b.input_drift.score),
      h("td", { text: [b.attribution_drift.alert && "attribution", b.input_drift.alert && "input"].filter(Boolean).join(", ") || "–" })));
    return h("table", { class: "grid", id: "mon-buckets-table" },
      h("thead", {}, h("tr", {}, ...["bucket (UTC)", "rows", "attribution PSI", "nDCG", "input PSI", "alerts"].map((t) => h("th", { text: t })))),
      h("tbody", {}, ...rows));
  }

  async function drawTime(res) {
    const x = res.buckets.map((b) => time(b.start));
    const line = (name, y, extra) => Object.assign({ type: "scatter", mode: "lines+markers", name, x, y }, extra || {});
    const o = res.overall;
    const flat = (name, value, color, axis) => ({ type: "scatter", mode: "lines", name, x: [x[0], x[x.length - 1]], y: [value, value],
      line: { dash: "dash", color, width: 1 }, yaxis: axis, hoverinfo: "skip" });
    const traces = [
      line("attribution drift (PSI)", res.buckets.map((b) => b.attribution_drift.score), { line: { color: "#1f77b4" } }),
      line("input drift (PSI)", res.buckets.map((b) => b.input_drift.score), { line: { color: "#ff7f0e" } }),
      line("nDCG of the ranking", res.buckets.map((b) => b.attribution_drift.ndcg), { line: { color: "#2ca02c" }, yaxis: "y2" }),
      flat("attribution threshold", o.attribution_drift.threshold, "#1f77b4", "y"),
      flat("input threshold", o.input_drift.threshold, "#ff7f0e", "y"),
      flat("nDCG threshold", o.attribution_drift.ndcg_threshold, "#2ca02c", "y2"),
    ];
    await plot($("#mon-plot"), traces, { title: { text: "Drift scores per bucket" }, xaxis: { title: { text: "time (UTC)" } },
      yaxis: { title: { text: "PSI (largest over features)" }, rangemode: "tozero" },
      yaxis2: { title: { text: "nDCG" }, overlaying: "y", side: "right", range: [0, 1.02], automargin: true }, margin: { l: 60, r: 60, t: 36, b: 50 } });
  }

  async function drawMoved(res) {
    const names = res.moved.map((m) => m.feature).reverse();
    const bar = (name, key, color) => ({ type: "bar", orientation: "h", name, y: names, x: res.moved.map((m) => m[key]).reverse(), marker: { color } });
    await plot($("#mon-moved-plot"), [bar("share now", "attribution_share", "#1f77b4"), bar("share at packaging", "baseline_attribution_share", "#999")],
      { title: { text: "Attribution share: now and at packaging" }, barmode: "group", margin: { l: 140, r: 20, t: 36, b: 50 } });
  }

  // the source "recorded" (packaging rows, then the recorded answers) with two cohorts: the packaging
  // rows and the answers recorded since the time typed (else the last bucket's start); the cohorts tab
  async function compareSince(panel) {
    const res = D.last.monitoring;
    const last = res && res.buckets.length ? res.buckets[res.buckets.length - 1].start : null;
    const since = $("#mon-since", panel).value.trim() || (last === null ? "" : new Date(last * 1000).toISOString());
    if (!since) return;
    await LIB.allSources(); // the source "recorded" is listed with the store's
    if (!D.sources.sources.some((s) => s.id === "recorded")) return;
    D.source = "recorded";
    sessionStorage.setItem(storageKey("cohorts"), JSON.stringify([
      { name: "Packaging rows", filters: [{ field: "@recorded", op: "missing" }] },
      { name: "Since " + since, filters: [], since },
      { name: "All data", filters: [] },
    ]));
    history.replaceState(null, "", "#cohorts");
    const sel = $("#source");
    sel.value = "recorded";
    sel.dispatchEvent(new Event("change"));
  }

  async function render(panel, current, lib) {
    LIB = lib;
    ({ S: D, api, plot, h, fmt, $, storageKey } = lib);
    if (panel.dataset.built !== "monitoring") { panel.replaceChildren(); build(panel); panel.dataset.built = "monitoring"; }
    const res = await api(query(panel));
    if (current && !current()) return;
    D.last.monitoring = res;
    panel.dataset.bucket = String(res.bucket_seconds);
    $("#mon-cards", panel).replaceChildren(...cards(res));
    $("#mon-moved", panel).replaceChildren(movedTable(res));
    $("#mon-buckets", panel).replaceChildren(bucketTable(res));
    if (!res.rows) {
      $("#mon-cards", panel).append(h("p", { class: "hint", id: "mon-empty", text: "No recorded answers yet: recording is off (SHAPSERVE_STORE_RECORD_SAMPLE_RATE) or nothing was explained since then." }));
      $("#mon-plot", panel).replaceChildren(); $("#mon-moved-plot", panel).replaceChildren();
      return;
    }
    await drawTime(res);
    await drawMoved(res);
  }

  window.shapserveTabs = window.shapserveTabs || {};
  window.shapserveTabs.monitoring = { render, needsRows: false };
})();
