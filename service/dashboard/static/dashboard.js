/* shapserve dashboard.
 *
 * Every URL here is relative to the page ("dashboard/api/...", "explain"), so the page works under any
 * path prefix a proxy adds.  Data comes from the service's JSON routes, aggregated, binned or sampled
 * on the server; what-if and ICE predictions are computed live by the served model.  The API key, when
 * the service has one, is kept in sessionStorage (this tab only) and sent as "Authorization: Bearer".
 */
(function () {
  "use strict";

  const COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c"];
  const CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["select2d", "lasso2d"] };
  const TABS = ["cohorts", "performance", "explorer", "importance", "individual", "whatif", "ice"];
  const NEEDS_ROWS = { whatif: true, ice: true };
  const GROUPS = { feature: "Features", prediction: "Prediction", probability: "Probabilities",
    label: "True label", error: "Error", shap: "SHAP values" };
  const MISSING = "(missing)";

  const S = {
    key: sessionStorage.getItem("shapserve.key") || "",
    sources: null, source: null, summary: null, fields: {},
    cohorts: [], active: 0, compare: [0],
    tab: "cohorts", selected: null, session: [],
    last: {}, view: {}, timers: {}, seq: {},
  };
  window.shapserveDashboard = S; // read by the browser tests and the benchmark

  // ------------------------------------------------------------------------------------ helpers
  function h(tag, attrs, ...kids) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "value") el.value = v;
      else if (k === "checked") el.checked = !!v;
      else if (k === "selected") el.selected = !!v;
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const kid of kids.flat()) {
      if (kid === null || kid === undefined || kid === false) continue;
      el.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
    }
    return el;
  }
  const $ = (sel, root) => (root || document).querySelector(sel);

  function fmt(v, digits) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential((digits || 4) - 1);
    return String(Number(v.toPrecision(digits || 4)));
  }
  const pct = (v) => (v === null || v === undefined ? "–" : (100 * v).toPrecision(3) + "%");

  async function api(path, body) {
    const headers = { Accept: "application/json" };
    if (S.key) headers.Authorization = "Bearer " + S.key;
    const init = { method: body === undefined ? "GET" : "POST", headers, cache: "no-store" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    const res = await fetch(path, init);
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = new Error((data && data.error) || ("HTTP " + res.status));
      err.status = res.status;
      err.field = data && data.field;
      throw err;
    }
    return data;
  }

  function message(text) {
    const box = $("#message");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function wrapText(text, chars) {
    // text broken at spaces into lines of at most `chars` characters (Plotly does not wrap titles)
    const lines = [];
    for (const word of String(text).split(" ")) {
      const last = lines.length ? lines[lines.length - 1] : null;
      if (last !== null && last.length + 1 + word.length <= chars) lines[lines.length - 1] = last + " " + word;
      else lines.push(word);
    }
    return lines;
  }

  function fitLayout(el, layout) {
    // a narrow plot (a phone's 390 px): titles wrapped to its width, tick labels and axis titles given
    // the margins they need (automargin), the legend below the axis title
    const width = el.clientWidth || 600, m = layout.margin;
    if (width < 600) m.l = Math.min(m.l, 60); // automargin widens it to the tick labels
    const title = layout.title && layout.title.text;
    if (title) {
      const lines = wrapText(title, Math.max(Math.floor((width - 20) / 9.5), 12)); // 16.8 px title font
      layout.title = Object.assign({}, layout.title, { text: lines.join("<br>") });
      m.t += 20 * (lines.length - 1);
    }
    for (const ax of ["xaxis", "yaxis"]) {
      const axis = layout[ax] = Object.assign({ automargin: true }, layout[ax] || {});
      if (ax === "xaxis" && axis.title && axis.title.text) {
        const room = width - Math.max(m.l, 60) - m.r; // the plot area, about
        axis.title = Object.assign({}, axis.title, { text: wrapText(axis.title.text, Math.max(Math.floor(room / 7.5), 12)).join("<br>") });
      }
    }
    if (layout.legend && layout.legend.orientation === "h" && layout.legend.y === undefined) {
      // at the bottom of the figure (not a share of the plot area's height): the margin grows to hold it
      layout.legend = Object.assign({}, layout.legend, { yref: "container", y: 0, yanchor: "bottom" });
    }
    return layout;
  }

  async function plot(el, traces, layout) {
    const base = { margin: { l: 60, r: 20, t: 36, b: 50 }, font: { size: 12 }, paper_bgcolor: "#fff",
      plot_bgcolor: "#fff", legend: { orientation: "h" } };
    const full = fitLayout(el, Object.assign(base, layout || {}));
    const out = await window.shapserveCanvasPoints.draw(Plotly, el, traces, full, CONFIG); // canvas_points.js
    // a plot first drawn in a hidden tab (the user moved on while it loaded) took Plotly's default 700 px
    // and keeps it through later draws: fitted to its box once it is shown
    if (el.clientWidth && el._fullLayout && Math.abs(el._fullLayout.width - el.clientWidth) > 1) await Plotly.Plots.resize(el);
    return out;
  }

  function select(options, value, attrs) {
    const el = h("select", attrs || {});
    for (const o of options) {
      if (o.group) {
        const g = h("optgroup", { label: o.group });
        for (const item of o.items) g.append(h("option", { value: item.value, selected: item.value === value, text: item.label }));
        el.append(g);
      } else el.append(h("option", { value: o.value, selected: o.value === value, text: o.label }));
    }
    return el;
  }

  function fieldOptions(filter) {
    const by = {};
    for (const f of S.summary.fields) {
      if (filter && !filter(f)) continue;
      (by[f.group] = by[f.group] || []).push({ value: f.id, label: f.label });
    }
    return Object.keys(GROUPS).filter((g) => by[g]).map((g) => ({ group: GROUPS[g], items: by[g] }));
  }

  function storageKey(what) {
    const m = S.sources.model;
    return `shapserve.${what}.${m.name}:${m.version}` + (what === "cohorts" ? ":" + S.source : "");
  }
  function save() {
    sessionStorage.setItem(storageKey("cohorts"), JSON.stringify(S.cohorts));
    sessionStorage.setItem(storageKey("session"), JSON.stringify(S.session));
  }
  const cohortBody = (c) => ({ name: c.name, filters: c.filters, since: c.since || undefined }); // since: cohorts.since
  const compared = () => S.compare.map((i) => S.cohorts[i]).filter(Boolean).map(cohortBody);
  const activeCohort = () => cohortBody(S.cohorts[S.active] || S.cohorts[0]);

  function fidelityText(f) {
    if (!f) return "not measured at packaging";
    return `served SHAP values within ${pct(f.rel_mae_vs_full_data)} relative MAE of the full-data values ` +
      `(${f.rows_checked} rows checked, ${f.background_rows}-row background)`;
  }
  function explanationLine(space, fidelity, extra) {
    return h("p", { class: "hint explained" }, h("b", { text: "Output space: " }), space, " · ",
      h("b", { text: "Fidelity: " }), fidelityText(fidelity), extra ? " · " + extra : "");
  }
  function classOptions(withMean) {
    const out = withMean ? [{ value: "", label: "mean over classes" }] : [];
    return out.concat((S.summary.classes || []).map((c) => ({ value: c, label: c })));
  }
  function defaultClass() {
    const c = S.summary.classes;
    return c ? (c.length === 2 ? c[1] : c[0]) : null;
  }
  function outcomeField() {
    if (S.summary.classes && S.fields["@proba:" + defaultClass()]) return "@proba:" + defaultClass();
    return "@prediction";
  }
  function topFeature() {
    // the most important feature of the last aggregate importance shown, if any
    const imp = S.last.importance, first = imp && imp.cohorts.find((c) => c.overall);
    if (!first) return null;
    let best = 0;
    first.overall.forEach((v, j) => { if (v > first.overall[best]) best = j; });
    return imp.features[best];
  }
  function firstFeature() {
    const f = S.summary.fields.find((x) => x.group === "feature") || S.summary.fields[0];
    return f ? f.id : null;
  }

  // ------------------------------------------------------------------------------------ start-up
  async function init() {
    message("");
    S.allSources = null;
    try {
      S.sources = await api("dashboard/api/packaged_sources"); // the store's sources come later (allSources)
    } catch (err) {
      if (err.status === 401) {
        message("This model's API needs a key: enter it above (it is kept in this browser tab only).");
        $("#key").focus();
        document.body.dataset.state = "needs-key";
        return;
      }
      message("Could not load the dashboard: " + err.message);
      document.body.dataset.state = "error";
      return;
    }
    const m = S.sources.model;
    $("#model").textContent = `${m.name}:${m.version} · ${m.task} · ${m.scorer} scorer` + (m.exact ? " (exact)" : "");
    const saved = sessionStorage.getItem(`shapserve.source.${m.name}:${m.version}`);
    if (saved && !S.sources.sources.some((s) => s.id === saved)) await allSources().catch(() => null); // a stored one
    S.source = saved || S.sources.default;
    if (!S.sources.sources.some((s) => s.id === S.source)) S.source = S.sources.default;
    fillSources();
    await loadSource();
  }

  function fillSources() {
    const sel = $("#source");
    sel.replaceChildren(...S.sources.sources.map((s) => h("option", { value: s.id, text: s.title })));
    if (S.sources.store_error) sel.append(h("option", { disabled: true, text: "stored explanations: " + S.sources.store_error }));
    sel.value = S.source;
  }

  function allSources() {
    // every source, the explanation store's too (opening the store costs the worker 0.3-0.7 s, so it is
    // asked for when the list is about to be used, not before the first paint): once per page
    if (!S.allSources) {
      S.allSources = api("dashboard/api/sources").then((res) => { S.sources = res; fillSources(); return res; });
      S.allSources.catch(() => { S.allSources = null; });
    }
    return S.allSources;
  }

  async function loadSource() {
    document.body.dataset.state = "loading";
    S.summary = await api("dashboard/api/summary", { source: S.source });
    S.fields = Object.fromEntries(S.summary.fields.map((f) => [f.id, f]));
    S.last = {}; S.view = {};
    try {
      S.cohorts = JSON.parse(sessionStorage.getItem(storageKey("cohorts")) || "null") || [];
      S.session = JSON.parse(sessionStorage.getItem(storageKey("session")) || "null") || [];
    } catch (e) { S.cohorts = []; S.session = []; }
    if (!S.cohorts.length) S.cohorts = [{ name: "All data", filters: [] }];
    S.active = 0; S.compare = [0];
    S.selected = S.summary.source.n_rows ? { type: "row", row: 0 } : null;
    renderFacts();
    renderCohortBar();
    for (const b of document.querySelectorAll("nav button")) {
      const t = b.dataset.tab;
      const global = S.summary.source.kind === "global";
      b.disabled = (NEEDS_ROWS[t] && !S.summary.has_rows) || (global && t !== "importance");
    }
    let tab = (location.hash || "").slice(1);
    if (!TABS.includes(tab) || $(`nav button[data-tab="${tab}"]`).disabled) tab = S.summary.source.kind === "global" ? "importance" : S.tab;
    if ($(`nav button[data-tab="${tab}"]`).disabled) tab = "importance";
    document.body.dataset.state = "ready";
    await show(tab);
    warmPlotly();
  }

  function warmPlotly() {
    // Plotly's first plot of a page sets up its styles, fonts and measurements (80-240 ms here, paid by
    // the first tab that plots): done once, off screen, when the page is idle after its first paint
    if (S.plotlyWarm || !window.requestIdleCallback) return;
    S.plotlyWarm = true;
    requestIdleCallback(() => {
      const el = h("div", { style: "position:absolute;left:-10000px;top:0;width:400px;height:300px", "aria-hidden": "true" });
      document.body.append(el);
      Plotly.newPlot(el, [{ type: "scatter", mode: "markers", x: [0, 1], y: [0, 1] }, { type: "bar", x: [0], y: [1] }],
        { margin: { l: 40, r: 10, t: 30, b: 30 }, title: { text: " " } }, CONFIG)
        .then(() => { Plotly.purge(el); el.remove(); });
    }, { timeout: 2000 });
  }

  function renderFacts() {
    const s = S.summary;
    const parts = [h("b", { text: s.source.title }), ` · ${s.task}`, " · explanations in ", h("b", { text: s.output_space }),
      " space · fidelity: ", fidelityText(s.fidelity)];
    if (s.has_rows && s.shap) {
      const done = s.shap.rows_done, total = s.shap.rows_total;
      parts.push(` · SHAP views use ${fmt(total)} of ${fmt(s.source.n_rows)} rows` + (done < total ? ` (${fmt(done)} explained so far)` : ""));
    }
    const notes = (s.notes || []).map((n) => h("span", { class: "note", text: "Note: " + n }));
    $("#facts").replaceChildren(...parts, ...notes);
  }

  function renderCohortBar() {
    const bar = $("#cohortbar");
    const act = select(S.cohorts.map((c, i) => ({ value: String(i), label: c.name })), String(S.active), { id: "active-cohort" });
    act.addEventListener("change", () => { S.active = Number(act.value); rerender(); });
    const boxes = S.cohorts.map((c, i) => {
      const pos = S.compare.indexOf(i);
      const box = h("input", { type: "checkbox", checked: pos >= 0, "data-cohort": i, class: "compare" });
      box.addEventListener("change", () => {
        if (box.checked) {
          if (S.compare.length >= 3) { box.checked = false; message("Compare up to three cohorts at once."); return; }
          S.compare.push(i);
        } else {
          S.compare = S.compare.filter((j) => j !== i);
          if (!S.compare.length) S.compare = [S.active];
        }
        message("");
        renderCohortBar();
        rerender();
      });
      const color = pos >= 0 ? COLORS[pos] : "transparent";
      return h("label", {}, box, h("span", { class: "swatch", style: `background:${color}` }), c.name);
    });
    bar.replaceChildren(h("label", {}, "Active cohort", act), h("span", { class: "hint", text: "Compare (up to 3):" }), ...boxes);
  }

  async function show(tab) {
    S.tab = tab;
    if (location.hash !== "#" + tab) history.replaceState(null, "", "#" + tab);
    for (const b of document.querySelectorAll("nav button")) b.setAttribute("aria-selected", String(b.dataset.tab === tab));
    for (const p of document.querySelectorAll(".panel")) p.hidden = p.dataset.tab !== tab;
    if (!S.summary) return; // still loading: loadSource renders the chosen tab
    await renderTab(tab);
  }

  function rerender() { return renderTab(S.tab); }

  async function renderTab(tab) {
    const panel = $("#panel-" + tab);
    const seq = (S.seq[tab] = (S.seq[tab] || 0) + 1);
    clearTimeout(S.timers[tab]);
    panel.dataset.status = "loading";
    try {
      await RENDER[tab](panel, () => seq === S.seq[tab]);
      if (seq === S.seq[tab]) { panel.dataset.status = "ready"; message(""); }
    } catch (err) {
      if (seq !== S.seq[tab]) return;
      panel.dataset.status = "error";
      message(err.message);
      if (window.console) console.warn("dashboard:", err.message);
    }
  }

  function scaffold(panel, key, build) {
    // build the controls once per tab and source; later renders keep the user's choices
    if (panel.dataset.built !== key) {
      panel.replaceChildren();
      build(panel);
      panel.dataset.built = key;
    }
  }

  // ------------------------------------------------------------------------------------ cohorts tab
  const OPS = {
    number: [["gt", ">"], ["ge", "≥"], ["lt", "<"], ["le", "≤"], ["eq", "="], ["ne", "≠"], ["between", "between"]],
    category: [["in", "is one of"], ["not_in", "is none of"]],
    any: [["missing", "is missing"], ["present", "is present"]],
  };
  function describeFilter(f) {
    const field = S.fields[f.field];
    const name = field ? field.label : f.field;
    const op = [...OPS.number, ...OPS.category, ...OPS.any].find((o) => o[0] === f.op);
    let value = "";
    if (Array.isArray(f.value)) value = f.op === "between" ? `${fmt(f.value[0])} and ${fmt(f.value[1])}` : f.value.join(", ");
    else if (f.value !== null && f.value !== undefined) value = fmt(f.value);
    return `${name} ${op ? op[1] : f.op} ${value}`.trim();
  }

  async function renderCohorts(panel, current) {
    const res = await api("dashboard/api/cohorts", { source: S.source, cohorts: S.cohorts.map(cohortBody) });
    if (!current()) return;
    S.last.cohorts = res;
    const rows = res.cohorts.map((c, i) => h("tr", { "data-cohort": i },
      h("td", {}, h("b", { text: c.name })),
      h("td", { style: "text-align:left", text: c.filters.length ? c.filters.map(describeFilter).join(" and ") : "all rows" }),
      h("td", { "data-metric": "n", text: fmt(c.n) }),
      h("td", { text: pct(c.share) }),
      h("td", {}, i === 0 ? "" : h("button", { class: "alt", onclick: () => editCohort(panel, i), text: "Edit" }), " ",
        i === 0 ? "" : h("button", { class: "alt", onclick: () => deleteCohort(i), text: "Delete" }))));
    panel.replaceChildren(
      h("h2", { text: "Cohorts" }),
      h("p", { class: "hint", text: "A cohort is the rows matching every one of its filters (on features, the prediction, the true label or the error). " +
        "Every tab works on the active cohort; model performance, the dataset explorer and aggregate importance show up to three cohorts side by side." }),
      h("table", { class: "grid", id: "cohort-table" },
        h("thead", {}, h("tr", {}, ...["Cohort", "Filters", "Rows", "Share", ""].map((t) => h("th", { text: t })))),
        h("tbody", {}, ...rows)),
      h("p", {}, h("button", { class: "act", id: "cohort-new", onclick: () => editCohort(panel, null), text: "New cohort" })),
      h("div", { id: "cohort-editor" }));
  }

  function deleteCohort(i) {
    S.cohorts.splice(i, 1);
    S.compare = S.compare.filter((j) => j !== i).map((j) => (j > i ? j - 1 : j));
    if (!S.compare.length) S.compare = [0];
    if (S.active === i) S.active = 0; else if (S.active > i) S.active -= 1;
    save(); renderCohortBar(); rerender();
  }

  function filterRow(f) {
    const wrap = h("div", { class: "filter" });
    const fieldSel = select(fieldOptions(), f.field, { class: "field", "aria-label": "Field" });
    wrap.append(fieldSel);
    const redraw = () => {
      const field = S.fields[fieldSel.value];
      const ops = [...(field.kind === "number" ? OPS.number : OPS.category), ...OPS.any];
      if (!ops.some((o) => o[0] === f.op)) f.op = ops[0][0];
      const opSel = select(ops.map((o) => ({ value: o[0], label: o[1] })), f.op, { class: "op", "aria-label": "Condition" });
      const valueBox = h("span", { class: "valuebox" });
      const drawValue = () => {
        f.op = opSel.value;
        valueBox.replaceChildren();
        if (f.op === "missing" || f.op === "present") return;
        if (field.kind === "category") {
          const chosen = new Set(Array.isArray(f.value) ? f.value.map(String) : []);
          valueBox.append(h("span", { class: "cats" }, ...(field.categories || []).map((c) =>
            h("label", {}, h("input", { type: "checkbox", class: "cat", value: c, checked: chosen.has(c) }), c))));
        } else if (f.op === "between") {
          const lo = Array.isArray(f.value) ? f.value[0] : field.min, hi = Array.isArray(f.value) ? f.value[1] : field.max;
          valueBox.append(h("input", { type: "number", step: "any", class: "value low", value: lo }), " and ",
            h("input", { type: "number", step: "any", class: "value high", value: hi }));
        } else {
          const v = typeof f.value === "number" ? f.value : (field.min !== null && field.max !== null ? Number(((field.min + field.max) / 2).toPrecision(4)) : 0);
          valueBox.append(h("input", { type: "number", step: "any", class: "value", value: v }));
        }
      };
      opSel.addEventListener("change", () => { f.value = null; drawValue(); });
      drawValue();
      while (wrap.children.length > 1) wrap.lastChild.remove();
      wrap.append(opSel, valueBox, h("button", { class: "alt remove", type: "button", text: "Remove", onclick: () => wrap.remove() }));
    };
    fieldSel.addEventListener("change", () => { f.field = fieldSel.value; f.value = null; redraw(); });
    redraw();
    wrap.read = () => {
      const field = S.fields[fieldSel.value];
      const op = $(".op", wrap).value;
      let value = null;
      if (op === "missing" || op === "present") value = null;
      else if (field.kind === "category") value = [...wrap.querySelectorAll("input.cat:checked")].map((x) => x.value);
      else if (op === "between") value = [Number($("input.low", wrap).value), Number($("input.high", wrap).value)];
      else value = Number($("input.value", wrap).value);
      return { field: fieldSel.value, op, value };
    };
    return wrap;
  }

  function editCohort(panel, index) {
    const draft = index === null ? { name: "Cohort " + S.cohorts.length, filters: [] } : JSON.parse(JSON.stringify(S.cohorts[index]));
    const list = h("div", { class: "filters" }, ...draft.filters.map(filterRow));
    const name = h("input", { id: "cohort-name", value: draft.name, maxlength: 100, "aria-label": "Cohort name" });
    const saveBtn = h("button", { class: "act", id: "cohort-save", text: "Save cohort" });
    saveBtn.addEventListener("click", async () => {
      const cohort = { name: name.value.trim() || draft.name, filters: [...list.children].map((w) => w.read()) };
      try {
        await api("dashboard/api/cohorts", { source: S.source, cohorts: [cohort] });
      } catch (err) { message("This cohort is not valid: " + err.message); return; }
      if (index === null) {
        S.cohorts.push(cohort);
        if (S.compare.length < 3) S.compare.push(S.cohorts.length - 1);
      } else S.cohorts[index] = cohort;
      save(); renderCohortBar(); rerender();
    });
    $("#cohort-editor", panel).replaceChildren(h("h3", { text: index === null ? "New cohort" : "Edit cohort" }),
      h("p", {}, h("label", {}, "Name ", name)), list,
      h("p", {}, h("button", { class: "alt", id: "cohort-add-filter", type: "button", text: "Add filter",
        onclick: () => list.append(filterRow({ field: firstFeature(), op: null, value: null })) }), " ", saveBtn, " ",
      h("button", { class: "alt", type: "button", text: "Cancel", onclick: () => $("#cohort-editor", panel).replaceChildren() })));
  }

  // ------------------------------------------------------------------------------------ performance tab
  const BARS = window.shapserveBars; // svg_bars.js

  async function renderPerformance(panel, current) {
    const key = "performance:" + S.source;
    scaffold(panel, key, (p) => {
      p.append(h("h2", { text: "Model performance" }), h("div", { class: "controls", id: "perf-controls" }),
        h("div", { class: "row" }, h("div", { class: "plot", id: "perf-dist" }), h("div", { class: "plot", id: "perf-second" })),
        h("h3", { text: "Metrics" }), h("div", { id: "perf-metrics" }));
      if (S.summary.classes) {
        const cls = select(classOptions(false), defaultClass(), { id: "perf-class" });
        cls.addEventListener("change", rerender);
        $("#perf-controls", p).append(h("label", {}, "Probability of", cls));
      }
    });
    const cls = $("#perf-class", panel);
    const res = await api("dashboard/api/performance", { source: S.source, cohorts: compared(), class: cls ? cls.value : null });
    if (!current()) return;
    S.last.performance = res;
    const dist = $("#perf-dist", panel), second = $("#perf-second", panel);
    const series = (get) => res.cohorts.map((c, i) => ({ name: c.name, color: COLORS[i], y: get(c).map((v) => v / Math.max(c.n, 1)) }));
    const share = "share of the cohort's rows";
    if (res.task === "classification") { // svg_bars.js: drawn by our own code, not Plotly (docs/dashboard.md)
      BARS.draw(dist, { title: `Prediction distribution: P(${res.class})`, xTitle: `P(${res.class})`, yTitle: share,
        edges: res.proba_edges, range: [0, 1], series: series((c) => c.proba_counts || []) });
      BARS.draw(second, { title: "Predicted class", yTitle: share, categories: res.classes, series: series((c) => c.predicted_counts) });
    } else {
      BARS.draw(dist, { title: "Prediction distribution", xTitle: "prediction", yTitle: share, edges: res.pred_edges,
        series: series((c) => c.pred_counts) });
      if (res.labels) {
        BARS.draw(second, { title: "Residuals (label - prediction)", xTitle: "residual", yTitle: share, edges: res.residual_edges,
          series: series((c) => c.residual_counts) });
      } else BARS.clear(second);
    }
    $("#perf-metrics", panel).replaceChildren(metricsTable(res));
  }

  function metricsTable(res) {
    if (!res.labels) return h("p", { class: "hint", text: "This data set has no true labels: metrics need the evaluation rows packaged with --eval-data and their labels." });
    const head = h("tr", {}, h("th", { text: "Metric" }), ...res.cohorts.map((c, i) =>
      h("th", {}, h("span", { class: "swatch", style: `background:${COLORS[i]}` }), " ", c.name)));
    const rows = [];
    const line = (label, metric, cls, get, asPct) => rows.push(h("tr", {}, h("td", { text: label }), ...res.cohorts.map((c, i) => {
      const v = get(c);
      return h("td", { "data-cohort": i, "data-metric": metric, "data-class": cls, "data-value": v === null || v === undefined ? "" : String(v),
        text: asPct ? pct(v) : fmt(v) });
    })));
    line("Rows", "n", null, (c) => c.n);
    line("Labelled rows", "labelled", null, (c) => c.metrics.labelled);
    if (res.task === "classification") {
      line("Accuracy", "accuracy", null, (c) => c.metrics.accuracy, true);
      res.classes.forEach((name, k) => {
        const pc = (c) => c.metrics.per_class[k];
        line(`Precision (${name})`, "precision", name, (c) => pc(c).precision, true);
        line(`Recall (${name})`, "recall", name, (c) => pc(c).recall, true);
        line(`F1 (${name})`, "f1", name, (c) => pc(c).f1, true);
        line(`False positive rate (${name})`, "fpr", name, (c) => pc(c).fpr, true);
        line(`False negative rate (${name})`, "fnr", name, (c) => pc(c).fnr, true);
        line(`Support (${name})`, "support", name, (c) => pc(c).support);
      });
    } else {
      line("MAE", "mae", null, (c) => c.metrics.mae);
      line("RMSE", "rmse", null, (c) => c.metrics.rmse);
      line("R²", "r2", null, (c) => c.metrics.r2);
      line("Mean residual", "mean_residual", null, (c) => c.metrics.mean_residual);
    }
    return h("table", { class: "grid", id: "metrics-table" }, h("thead", {}, head), h("tbody", {}, ...rows));
  }

  // ------------------------------------------------------------------------------------ explorer tab
  function colourTraces(c, field, index) {
    // one trace per category (a legend), or one trace coloured on a scale for numbers
    const base = { type: "scatter", mode: "markers", hovertemplate: "row %{customdata}<br>x %{x}<br>y %{y}<extra></extra>" };
    if (!field || !c.color) return [Object.assign({}, base, { name: c.name, x: c.x, y: c.y, customdata: c.rows, marker: { color: COLORS[index], size: 6, opacity: 0.7 } })];
    if (field.kind === "number") {
      return [Object.assign({}, base, { name: c.name, x: c.x, y: c.y, customdata: c.rows,
        marker: { color: c.color.map((v) => (v === null ? NaN : v)), colorscale: "Viridis", size: 6, opacity: 0.75, showscale: true, colorbar: { title: { text: field.label }, thickness: 12 } } })];
    }
    const cats = [...(field.categories || []), MISSING];
    return cats.map((cat) => {
      const idx = c.color.map((v, j) => ((v === null ? MISSING : v) === cat ? j : -1)).filter((j) => j >= 0);
      return Object.assign({}, base, { name: cat, x: idx.map((j) => c.x[j]), y: idx.map((j) => c.y[j]), customdata: idx.map((j) => c.rows[j]),
        marker: { size: 6, opacity: 0.75 } });
    }).filter((t) => t.x.length);
  }

  function selectRow(row, origin) {
    S.selected = { type: "row", row: row };
    message("");
    const note = $(`#${origin}-picked`);
    if (note) note.textContent = `Row ${row} selected: see it in Individual importance, What-if and ICE.`;
  }

  async function renderExplorer(panel, current) {
    scaffold(panel, "explorer:" + S.source, (p) => {
      const x = select(fieldOptions(), firstFeature(), { id: "explore-x" });
      const y = select(fieldOptions(), outcomeField(), { id: "explore-y" });
      const color = select([{ value: "", label: "none" }, ...fieldOptions()], S.fields["@label"] ? "@label" : "@prediction", { id: "explore-color" });
      const chart = select([{ value: "scatter", label: "scatter" }, { value: "histogram", label: "histogram" }], "scatter", { id: "explore-chart" });
      for (const el of [x, y, color, chart]) el.addEventListener("change", rerender);
      p.append(h("h2", { text: "Dataset explorer" }),
        h("div", { class: "controls" }, h("label", {}, "X", x), h("label", { id: "explore-y-label" }, "Y", y), h("label", {}, "Colour", color), h("label", {}, "Chart", chart)),
        h("p", { class: "hint", id: "explore-hint" }), h("p", { class: "hint", id: "explorer-picked" }), h("div", { class: "row", id: "explore-plots" }));
    });
    const chart = $("#explore-chart", panel).value;
    $("#explore-y-label", panel).hidden = chart !== "scatter";
    const body = { source: S.source, cohorts: compared(), chart, x: $("#explore-x", panel).value,
      y: chart === "scatter" ? $("#explore-y", panel).value : null, color: $("#explore-color", panel).value || null };
    const res = await api("dashboard/api/explore", body);
    if (!current()) return;
    S.last.explorer = res;
    const holder = $("#explore-plots", panel);
    if (holder.children.length !== res.cohorts.length) {
      // new plots at their final widths (a plot drawn alone keeps its full width when others join it)
      for (const d of holder.children) Plotly.purge(d);
      holder.replaceChildren(...res.cohorts.map(() => h("div", { class: "plot" })));
    }
    const divs = [...holder.children];
    if (chart === "scatter") {
      $("#explore-hint", panel).textContent = "Each plot shows a random sample of at most 2,000 of the cohort's rows (the same rows across axes and cohorts). Click a point to select its row.";
      await Promise.all(res.cohorts.map((c, i) => plot(divs[i], colourTraces(c, res.color, i), {
        title: { text: `${c.name}: ${fmt(c.shown)} of ${fmt(c.n)} rows` }, xaxis: { title: { text: res.x.label } }, yaxis: { title: { text: res.y.label } } })));
      divs.forEach((d) => { d.removeAllListeners && d.removeAllListeners("plotly_click"); d.on("plotly_click", (ev) => selectRow(ev.points[0].customdata, "explorer")); });
    } else {
      $("#explore-hint", panel).textContent = "Counts of all the cohort's rows, binned on the server.";
      const bins = res.bins;
      const x = bins.categories ? bins.categories : centres(bins.edges);
      await Promise.all(res.cohorts.map((c, i) => {
        const traces = c.counts.map((counts, g) => ({ type: "bar", name: res.groups[g],
          x: x, y: bins.categories ? counts : counts.slice(0, -1), marker: res.color ? {} : { color: COLORS[i] } })).filter((t) => t.y.some((v) => v > 0));
        const missing = bins.categories ? 0 : c.counts.reduce((a, counts) => a + counts[counts.length - 1], 0);
        return plot(divs[i], traces, { barmode: "stack", bargap: 0.05, title: { text: `${c.name}: ${fmt(c.n)} rows` + (missing ? ` (${fmt(missing)} missing ${res.x.label})` : "") },
          xaxis: { title: { text: res.x.label } }, yaxis: { title: { text: "rows" } } });
      }));
    }
  }

  // ------------------------------------------------------------------------------------ aggregate importance tab
  function importanceValues(entry, cls, classes) {
    if (!entry.per_class) return null;
    if (cls === "" || !classes) return entry.overall;
    const k = classes.indexOf(cls);
    return k >= 0 && entry.per_class[k] ? entry.per_class[k] : entry.overall;
  }

  async function renderImportance(panel, current) {
    scaffold(panel, "importance:" + S.source, (p) => {
      const kinds = S.summary.global_kinds;
      const kind = select(kinds.map((k) => ({ value: k, label: { shap: "SHAP (mean |value|)", pfi: "permutation importance (pfi)", mimic: "global surrogate (mimic)" }[k] })), kinds[0], { id: "imp-kind" });
      const cls = select(classOptions(true), "", { id: "imp-class" });
      const m = S.summary.features.length;
      const topk = h("input", { type: "range", min: 1, max: m, value: Math.min(10, m), id: "imp-topk" });
      const topkShow = h("span", { id: "imp-topk-value", text: topk.value });
      topk.addEventListener("input", () => { topkShow.textContent = topk.value; drawImportance(panel); });
      kind.addEventListener("change", rerender);
      cls.addEventListener("change", () => drawImportance(panel));
      p.append(h("h2", { text: "Aggregate feature importance" }),
        h("div", { class: "controls" }, h("label", {}, "Kind", kind), S.summary.classes ? h("label", {}, "Class", cls) : "", h("label", {}, "Top", topk, topkShow, "features")),
        h("div", { id: "imp-notes" }), h("div", { class: "plot tall", id: "imp-plot" }),
        h("div", { id: "dependence" }));
    });
    const res = await api("dashboard/api/importance", { source: S.source, cohorts: compared(), kind: $("#imp-kind", panel).value });
    if (!current()) return;
    S.last.importance = res;
    const status = res.cohorts.map((c) => c.shap).find(Boolean);
    if (status) { S.summary.shap = status; renderFacts(); }
    await drawImportance(panel);
    if (res.cohorts.some((c) => c.complete === false)) {
      // the SHAP sample is still being explained: show what is done, ask again shortly
      S.timers.importance = setTimeout(() => { if (S.tab === "importance") rerender(); }, 1000);
    }
  }

  async function drawImportance(panel) {
    const res = S.last.importance;
    if (!res) return;
    const cls = $("#imp-class", panel) ? $("#imp-class", panel).value : "";
    const k = Number($("#imp-topk", panel).value);
    const first = res.cohorts.find((c) => c.per_class);
    const notes = res.cohorts.map((c, i) => {
      let what = "";
      if (res.kind === "shap") {
        what = c.scope === "stored" ? (c.note || "stored SHAP values") : `${fmt(c.n_used)} of the cohort's ${fmt(c.n)} rows in the SHAP sample`;
        if (c.shap && !c.complete) what += ` (SHAP sample: ${fmt(c.shap.rows_done)} of ${fmt(c.shap.rows_total)} rows explained so far)`;
        if (!c.per_class && c.note) what = c.note;
      }
      else what = c.note || "";
      return h("p", { class: "hint" }, h("span", { class: "swatch", style: `background:${COLORS[i]}` }), ` ${c.name}: ${what}`);
    });
    let line;
    if (res.kind === "pfi") line = h("p", { class: "hint explained" }, h("b", { text: "Output space: " }), `${res.output_space} (the drop of this metric when a feature is shuffled; not a SHAP value, so no SHAP fidelity applies)`);
    else if (res.kind === "mimic") {
      const f = (first && first.fidelity) || null;
      line = h("p", { class: "hint explained" }, h("b", { text: "Output space: " }), res.output_space, " · ", h("b", { text: "Fidelity: " }),
        f ? `the surrogate's ${f.metric} against the model is ${fmt(f.value)} on ${fmt(f.rows)} held-out rows` : "not known");
    } else line = explanationLine(res.output_space, first ? first.fidelity : S.summary.fidelity);
    $("#imp-notes", panel).replaceChildren(line, ...notes, h("p", { class: "hint", text: "Click a bar to open its dependence plot." }));
    const el = $("#imp-plot", panel);
    if (!first) {
      Plotly.purge(el);
      $("#imp-notes", panel).append(h("p", { class: "hint", text: "No importance yet for these cohorts." }));
      return;
    }
    const classes = res.classes;
    const order = importanceValues(first, cls, classes).map((v, j) => [v, j]).sort((a, b) => b[0] - a[0]).slice(0, k).map((x) => x[1]);
    const names = order.map((j) => res.features[j]).reverse();
    const traces = res.cohorts.map((c, i) => {
      const vals = importanceValues(c, cls, classes);
      return { type: "bar", orientation: "h", name: c.name, y: names, x: vals ? order.map((j) => vals[j]).reverse() : [], marker: { color: COLORS[i] },
        hovertemplate: "%{y}: %{x:.4g}<extra>" + c.name + "</extra>" };
    });
    await plot(el, traces, { barmode: "group", margin: { l: 170, r: 20, t: 36, b: 50 },
      title: { text: `Top ${k} features` + (cls ? ` for class ${cls}` : "") + ` (${res.kind})` }, xaxis: { title: { text: res.kind === "pfi" ? `drop of ${res.output_space}` : `mean |SHAP value| (${res.output_space})` } } });
    if (!el.dataset.wired) {
      el.on("plotly_click", (ev) => { if (S.summary.has_rows) renderDependence(panel, ev.points[0].y); });
      el.dataset.wired = "1";
    }
    if (S.summary.has_rows) {
      // the dependence plot of the clicked feature, else of the most important one
      const feature = S.view.dependence ? S.view.dependence.feature : names[names.length - 1];
      await renderDependence(panel, feature, !!S.view.dependence);
    }
  }

  async function renderDependence(panel, feature, keep) {
    const box = $("#dependence", panel);
    let colorSel = $("#dep-color", box);
    if (!colorSel || !keep || (S.view.dependence && S.view.dependence.feature !== feature)) {
      const ranked = S.last.importance && S.last.importance.cohorts[0].overall;
      let second = firstFeature();
      if (ranked) {
        const order = ranked.map((v, j) => [v, j]).sort((a, b) => b[0] - a[0]).map((x) => S.last.importance.features[x[1]]);
        second = order.find((f) => f !== feature) || second;
      }
      colorSel = select([{ value: "", label: "none" }, ...fieldOptions()], (colorSel && keep) ? colorSel.value : second, { id: "dep-color" });
      colorSel.addEventListener("change", () => renderDependence(panel, feature, true));
      box.replaceChildren(h("h3", { text: `Dependence: ${feature}` }), h("div", { class: "controls" }, h("label", {}, "Colour", colorSel)),
        h("div", { id: "dep-notes" }), h("div", { class: "plot", id: "dep-plot" }));
    }
    S.view.dependence = { feature };
    const clsSel = $("#imp-class", panel);
    const res = await api("dashboard/api/dependence", { source: S.source, cohort: activeCohort(), feature, color: colorSel.value || null,
      class: clsSel && clsSel.value ? clsSel.value : null });
    S.last.dependence = res;
    $("#dep-notes", box).replaceChildren(explanationLine(res.output_space, res.fidelity,
      `SHAP values of ${feature}` + (res.class ? ` for class ${res.class}` : "") + ` on ${fmt(res.rows.length)} rows of the active cohort (${fmt(res.n_cohort)} rows; SHAP sample)`));
    const c = { name: S.cohorts[S.active].name, x: res.x_values, y: res.shap_values, rows: res.rows, color: res.color_values };
    await plot($("#dep-plot", box), colourTraces(c, res.color, 0), { title: { text: `${feature}: value vs SHAP value` },
      xaxis: { title: { text: feature } }, yaxis: { title: { text: `SHAP value (${res.output_space})` } } });
  }

  // ------------------------------------------------------------------------------------ individual importance tab
  function localBars(el, features, values, k, title, space, sigmas) {
    // sigmas: each value's error estimate (its standard deviation), drawn as a 2-sigma error bar
    const order = values.map((v, j) => [Math.abs(v), j]).sort((a, b) => b[0] - a[0]).map((x) => x[1]);
    const top = order.slice(0, k), rest = order.slice(k);
    const names = top.map((j) => features[j]), vals = top.map((j) => values[j]);
    const bars = sigmas ? top.map((j) => 2 * sigmas[j]) : null;
    if (rest.length) {
      names.push(`${rest.length} other features`); vals.push(rest.reduce((a, j) => a + values[j], 0));
      if (bars) bars.push(2 * Math.sqrt(rest.reduce((a, j) => a + sigmas[j] * sigmas[j], 0)));
    }
    const trace = { type: "bar", orientation: "h", y: names.slice().reverse(), x: vals.slice().reverse(),
      marker: { color: vals.slice().reverse().map((v) => (v >= 0 ? "#d6604d" : "#4393c3")) }, hovertemplate: "%{y}: %{x:.4g}<extra></extra>" };
    if (bars) trace.error_x = { type: "data", array: bars.slice().reverse(), visible: true, color: "#444", thickness: 1 };
    return plot(el, [trace],
    { title: { text: title }, margin: { l: 170, r: 20, t: 36, b: 50 }, xaxis: { title: { text: `SHAP value (${space})` } }, showlegend: false });
  }

  function additivity(exp, k) {
    const sum = exp.values[k].reduce((a, v) => a + v, 0);
    const err = Math.abs(exp.base_values[k] + sum - exp.outputs[k]);
    return h("div", { class: "additivity", "data-error": String(err) },
      `base value ${fmt(exp.base_values[k], 6)} + sum of ${exp.values[k].length} SHAP values ${fmt(sum, 6)} = output ${fmt(exp.outputs[k], 6)}` +
      `   (additivity error ${err.toExponential(1)}, ${exp.output_space} space)`);
  }

  function explainAnswer(ans) {
    // /explain's answer for one row (asked with error_estimate), as the row route's explanation
    const clf = Array.isArray(ans.expected_values);
    const est = ans.error_estimate;
    return { features: ans.features, values: clf ? ans.local_importance_values[0] : [ans.local_importance_values[0]],
      base_values: clf ? ans.expected_values : [ans.expected_values], outputs: clf ? ans.explained_outputs[0] : [ans.explained_outputs[0]],
      output_space: ans.output_space, fidelity: S.summary.fidelity, computed: "live",
      error: est ? { row: est.rows[0], values: clf ? est.values[0] : [est.values[0]] } : null };
  }

  function errorLine(exp, id) {
    // the row's error estimate beside its explanation: "± 2 sigma", per value on the bars
    if (!exp.error) return h("div", { id, class: "hint", text: "No error estimate for this explanation." });
    const two = 2 * exp.error.row;
    return h("div", { class: "errorbar", id, "data-sigma": String(exp.error.row) },
      `± ${fmt(two, 3)} (2σ): this row's error estimate against the full-data SHAP values (RMS over its values; the bars show each value's 2σ)`);
  }

  async function selectedPoint() {
    const sel = S.selected;
    if (!sel) return null;
    if (sel.type === "session") {
      const item = S.session[sel.index];
      const ans = await api("explain", { instances: [item.instance], top_k: S.summary.features.length, error_estimate: true });
      return { name: item.name, instance: item.instance, prediction: ans.predictions[0], probabilities: ans.probabilities ? ans.probabilities[0] : null,
        label: null, classes: ans.classes || null, explanation: explainAnswer(ans) };
    }
    const res = await api("dashboard/api/row", { source: S.source, row: sel.row });
    res.name = `row ${sel.row}`;
    return res;
  }

  function pickers(panel, id, after) {
    const rowInput = h("input", { type: "number", min: 0, max: Math.max(S.summary.source.n_rows - 1, 0), step: 1, id: id + "-row",
      value: S.selected && S.selected.type === "row" ? S.selected.row : 0 });
    const go = h("button", { class: "alt", id: id + "-show", text: "Show row" });
    go.addEventListener("click", () => { S.selected = { type: "row", row: Number(rowInput.value) }; after(); });
    const sess = select([{ value: "", label: S.session.length ? "choose…" : "none yet" }, ...S.session.map((s, i) => ({ value: String(i), label: s.name }))], "", { id: id + "-session" });
    sess.addEventListener("change", () => { if (sess.value !== "") { S.selected = { type: "session", index: Number(sess.value) }; after(); } });
    return h("div", { class: "controls" }, h("label", {}, "Row index", rowInput), go, h("label", {}, "Session rows (saved in What-if)", sess));
  }

  async function renderIndividual(panel, current) {
    scaffold(panel, "individual:" + S.source, (p) => {
      const m = S.summary.features.length;
      const topk = h("input", { type: "range", min: 1, max: m, value: Math.min(10, m), id: "ind-topk" });
      topk.addEventListener("input", () => drawIndividual(panel));
      p.append(h("h2", { text: "Individual feature importance" }),
        pickers(p, "ind", rerender),
        h("div", { class: "row" },
          h("div", { style: "flex:1 1 380px" }, h("p", { class: "hint", text: "Click a point of the active cohort to select its row." }),
            h("div", { class: "plot short", id: "ind-pick" })),
          h("div", { style: "flex:1 1 480px" }, h("div", { id: "ind-head" }),
            h("div", { class: "controls" }, S.summary.classes ? h("label", {}, "Class", select(classOptions(false), "", { id: "ind-class" })) : "",
              h("label", {}, "Top", topk, "features")),
            h("div", { id: "ind-additivity" }), h("div", { id: "ind-error" }), h("div", { class: "plot", id: "ind-plot" }))),
        h("h3", { text: "Feature values" }), h("div", { id: "ind-values" }));
      const cls = $("#ind-class", p);
      if (cls) cls.addEventListener("change", () => drawIndividual(panel));
    });
    const [point, pick] = await Promise.all([selectedPoint(), api("dashboard/api/explore", {
      source: S.source, cohorts: [activeCohort()], chart: "scatter", x: firstFeature(), y: outcomeField(), color: "@prediction", max_points: 1000 })]);
    if (!current()) return;
    S.last.individual = point;
    const pc = pick.cohorts[0];
    const pickEl = $("#ind-pick", panel);
    const traces = colourTraces(pc, pick.color, 0);
    const at = point && S.selected && S.selected.type === "row" ? pc.rows.indexOf(S.selected.row) : -1;
    if (at >= 0) traces.push({ type: "scatter", mode: "markers", name: "selected", x: [pc.x[at]], y: [pc.y[at]], customdata: [pc.rows[at]],
      marker: { symbol: "star", size: 16, color: "#111", line: { color: "#fff", width: 1 } } });
    await plot(pickEl, traces, { title: { text: `${pc.name}: ${fmt(pc.shown)} of ${fmt(pc.n)} rows` },
      xaxis: { title: { text: pick.x.label } }, yaxis: { title: { text: pick.y.label } } });
    if (!pickEl.dataset.wired) {
      pickEl.on("plotly_click", (ev) => { S.selected = { type: "row", row: ev.points[0].customdata }; $("#ind-row", panel).value = ev.points[0].customdata; rerender(); });
      pickEl.dataset.wired = "1";
    }
    if (!point) { $("#ind-head", panel).textContent = "No row selected."; return; }
    const cls = $("#ind-class", panel);
    if (cls && point.classes) cls.value = point.prediction;
    await drawIndividual(panel);
  }

  function predictionCards(point, idPrefix) {
    const cards = [h("div", { class: "card" }, h("div", { class: "label", text: "Prediction" }),
      h("div", { class: "big", id: idPrefix + "-prediction", text: fmt(point.prediction) }))];
    if (point.probabilities && point.classes) {
      cards.push(h("div", { class: "card" }, h("div", { class: "label", text: "Probabilities" }),
        h("div", { id: idPrefix + "-probabilities", "data-values": JSON.stringify(point.probabilities) },
          ...point.classes.map((c, k) => h("span", { class: "pill", text: `${c}: ${fmt(point.probabilities[k])}` })))));
    }
    if (point.label !== null && point.label !== undefined) cards.push(h("div", { class: "card" }, h("div", { class: "label", text: "True label" }), h("div", { class: "big", text: fmt(point.label) })));
    return h("div", { class: "cards" }, ...cards);
  }

  async function drawIndividual(panel) {
    const point = S.last.individual;
    if (!point) return;
    const exp = point.explanation;
    const cls = $("#ind-class", panel);
    const k = point.classes && cls ? Math.max(point.classes.indexOf(cls.value), 0) : 0;
    $("#ind-head", panel).replaceChildren(h("h3", { text: `Selected: ${point.name}` }), predictionCards(point, "ind"),
      explanationLine(exp.output_space, exp.fidelity, exp.computed === "live" ? "explained live by the served scorer" : "stored explanation"));
    $("#ind-additivity", panel).replaceChildren(additivity(exp, k));
    $("#ind-error", panel).replaceChildren(errorLine(exp, "ind-error-line"));
    const sigmas = exp.error ? exp.error.values[k] : null;
    const topk = Number($("#ind-topk", panel).value);
    await localBars($("#ind-plot", panel), exp.features, exp.values[k], topk,
      `Top ${topk} local importances` + (point.classes ? ` for class ${point.classes[k]}` : ""), exp.output_space, sigmas);
    const rows = exp.features.map((f, j) => h("tr", {}, h("td", { text: f }),
      h("td", { text: point.instance ? fmt(point.instance[f], 8) : "–" }), h("td", { text: fmt(exp.values[k][j]) }),
      h("td", { class: "sigma", "data-sigma": sigmas ? String(sigmas[j]) : "", text: sigmas ? "± " + fmt(2 * sigmas[j], 3) : "–" })));
    $("#ind-values", panel).replaceChildren(h("table", { class: "grid" },
      h("thead", {}, h("tr", {}, h("th", { text: "Feature" }), h("th", { text: "Value" }), h("th", { text: "SHAP value" }), h("th", { text: "± 2σ" }))), h("tbody", {}, ...rows)));
  }

  // ------------------------------------------------------------------------------------ what-if tab
  function featureInput(f, value) {
    const wrap = h("label", { "data-feature": f.name }, h("span", { text: f.name }));
    let input;
    if (f.dtype === "category") {
      const opts = (f.categories || []).map((c) => ({ value: c, label: c }));
      if (f.nullable) opts.push({ value: "", label: MISSING });
      input = select(opts, value === null || value === undefined ? "" : String(value), { class: "wi-input", "data-feature": f.name });
      wrap.append(input, h("span"));
    } else {
      input = h("input", { type: "number", step: "any", class: "wi-input", "data-feature": f.name, value: value === null ? "" : value });
      const miss = f.nullable ? h("input", { type: "checkbox", class: "wi-missing", title: "missing", "data-feature": f.name, checked: value === null }) : null;
      if (miss) { input.disabled = value === null; miss.addEventListener("change", () => { input.disabled = miss.checked; }); }
      wrap.append(input, miss ? h("span", { class: "miss" }, miss, "missing") : h("span"));
    }
    return wrap;
  }

  function readForm(panel) {
    const out = {};
    for (const f of S.summary.features) {
      const input = $(`.wi-input[data-feature="${CSS.escape(f.name)}"]`, panel);
      const miss = $(`.wi-missing[data-feature="${CSS.escape(f.name)}"]`, panel);
      if (f.dtype === "category") out[f.name] = input.value === "" ? null : input.value;
      else if (miss && miss.checked) out[f.name] = null;
      else out[f.name] = input.value === "" ? null : Number(input.value);
    }
    return out;
  }

  async function renderWhatif(panel, current) {
    const point = await selectedPoint();
    if (!current()) return;
    S.view.whatif = point;
    const m = S.summary.features.length;
    const form = h("div", { class: "form", id: "whatif-form" }, ...S.summary.features.map((f) => featureInput(f, point ? point.instance[f.name] : null)));
    const run = h("button", { class: "act", id: "whatif-run", text: "Predict" });
    const saveBtn = h("button", { class: "alt", id: "whatif-save", text: "Save as a session row" });
    const reset = h("button", { class: "alt", id: "whatif-reset", text: "Reset" });
    panel.replaceChildren(h("h2", { text: "What-if" }), pickers(panel, "wi", rerender),
      h("p", { class: "hint", text: `Starting from ${point ? point.name : "nothing"}: edit its values; the prediction and the explanation are computed live by the served model (POST explain).` }),
      h("div", { class: "cards" }, h("div", { class: "card" }, h("div", { class: "label", text: `Original (${point ? point.name : "–"})` }),
        h("div", { class: "big", id: "whatif-original", text: point ? fmt(point.prediction) : "–" }))),
      form, h("p", {}, run, " ", saveBtn, " ", reset),
      h("div", { id: "whatif-result" }), h("div", { id: "whatif-additivity" }), h("div", { id: "whatif-error" }), h("div", { class: "plot", id: "whatif-plot" }));
    let timer = null;
    let asked = 0; // only the answer to the latest edit is shown (answers can arrive out of order)
    const predict = async () => {
      clearTimeout(timer);
      const instance = readForm(panel);
      const mine = ++asked;
      panel.dataset.status = "loading";
      try {
        const ans = await api("explain", { instances: [instance], top_k: m, error_estimate: true });
        if (mine !== asked || !current()) return;
        const exp = explainAnswer(ans);
        const shown = { prediction: ans.predictions[0], probabilities: ans.probabilities ? ans.probabilities[0] : null, classes: ans.classes || null, label: null };
        S.last.whatif = { instance, answer: ans };
        const predicted = shown.classes ? Math.max(shown.classes.indexOf(shown.prediction), 0) : 0;
        $("#whatif-result", panel).replaceChildren(predictionCards(shown, "whatif"), explanationLine(exp.output_space, exp.fidelity, "explained live by the served scorer"));
        $("#whatif-additivity", panel).replaceChildren(additivity(exp, predicted));
        const line = errorLine(exp, "whatif-error-line");
        if (exp.error) line.dataset.values = JSON.stringify(exp.error.values[predicted]);
        $("#whatif-error", panel).replaceChildren(line);
        await localBars($("#whatif-plot", panel), exp.features, exp.values[predicted], Math.min(10, m),
          "Local importances of the edited point" + (shown.classes ? ` for class ${shown.classes[predicted]}` : ""), exp.output_space,
          exp.error ? exp.error.values[predicted] : null);
        for (const lab of form.children) {
          const f = lab.dataset.feature;
          lab.classList.toggle("changed", point && point.instance && JSON.stringify(point.instance[f]) !== JSON.stringify(instance[f]));
        }
        panel.dataset.status = "ready";
        message("");
      } catch (err) {
        if (mine !== asked) return;
        panel.dataset.status = "error";
        message("What-if: " + err.message);
      }
    };
    run.addEventListener("click", predict);
    form.addEventListener("change", () => { clearTimeout(timer); timer = setTimeout(predict, 250); });
    reset.addEventListener("click", rerender);
    saveBtn.addEventListener("click", () => {
      const instance = readForm(panel);
      S.session.push({ name: `edited ${point ? point.name : "row"} #${S.session.length + 1}`, instance });
      save();
      message("");
      $("#whatif-result", panel).prepend(h("p", { class: "hint", id: "whatif-saved", text: `Saved as session row ${S.session.length}: pick it in Individual importance and ICE.` }));
    });
    if (point) await predict();
  }

  // ------------------------------------------------------------------------------------ ICE tab
  async function renderIce(panel, current) {
    scaffold(panel, "ice:" + S.source + ":" + S.session.length, (p) => {
      const feats = S.summary.features.map((f) => ({ value: f.name, label: f.name }));
      const feature = select(feats, topFeature() || feats[0].value, { id: "ice-feature" });
      const cls = select(classOptions(false), defaultClass(), { id: "ice-class" });
      const grid = h("input", { type: "number", min: 2, max: 100, value: 20, id: "ice-grid" });
      const pd = h("input", { type: "checkbox", checked: true, id: "ice-pd" });
      const sess = S.session.map((s, i) => h("label", {}, h("input", { type: "checkbox", class: "ice-session", value: i }), s.name));
      for (const el of [feature, grid, pd, ...sess.map((l) => l.firstChild)]) el.addEventListener("change", rerender);
      cls.addEventListener("change", () => drawIce(panel));
      p.append(h("h2", { text: "ICE: individual conditional expectation" }), pickers(p, "ice", rerender),
        h("div", { class: "controls" }, h("label", {}, "Feature", feature), S.summary.classes ? h("label", {}, "Probability of", cls) : "",
          h("label", {}, "Grid points", grid), h("label", {}, pd, "partial dependence over the active cohort")),
        sess.length ? h("div", { class: "controls" }, h("span", { class: "hint", text: "Also sweep session rows:" }), ...sess) : "",
        h("p", { class: "hint", id: "ice-hint" }), h("div", { class: "plot tall", id: "ice-plot" }));
    });
    const sel = S.selected;
    const rows = sel && sel.type === "row" ? [sel.row] : [];
    const instances = [];
    if (sel && sel.type === "session") instances.push(S.session[sel.index].instance);
    for (const box of panel.querySelectorAll(".ice-session:checked")) {
      const i = Number(box.value);
      if (!(sel && sel.type === "session" && sel.index === i)) instances.push(S.session[i].instance);
    }
    const res = await api("dashboard/api/ice", { source: S.source, cohort: activeCohort(), feature: $("#ice-feature", panel).value,
      rows, instances, grid_points: Number($("#ice-grid", panel).value) || 20, pd_rows: $("#ice-pd", panel).checked ? 200 : 0 });
    if (!current()) return;
    S.last.ice = res;
    await drawIce(panel);
  }

  async function drawIce(panel) {
    const res = S.last.ice;
    if (!res) return;
    const clsSel = $("#ice-class", panel);
    const k = res.classes ? Math.max(res.classes.indexOf(clsSel.value), 0) : null;
    const pick = (values) => values.map((v) => (k === null ? v : v[k]));
    const traces = res.curves.map((c) => ({ type: "scatter", mode: "lines+markers", name: c.name, x: res.grid, y: pick(c.values) }));
    if (res.pd) traces.push({ type: "scatter", mode: "lines", name: `partial dependence (mean of ${res.pd.n_rows} cohort rows)`, x: res.grid, y: pick(res.pd.values),
      line: { dash: "dash", width: 3, color: "#444" } });
    const target = res.target === "probability" ? `P(${res.classes[k]})` : "prediction";
    $("#ice-hint", panel).textContent = `${res.feature} swept over ${res.grid.length} ` + (res.kind === "category" ? "categories" : "values from its minimum to its maximum") +
      `; every point is a prediction of the served model, computed live` + (res.pd ? `; the dashed line averages ${res.pd.n_rows} rows of the active cohort (${fmt(res.n_cohort)} rows; a random sample).` : ".");
    await plot($("#ice-plot", panel), traces, { title: { text: `ICE of ${res.feature}: ${target}` },
      xaxis: { title: { text: res.feature }, type: res.kind === "category" ? "category" : "linear" }, yaxis: { title: { text: target } } });
  }

  const RENDER = { cohorts: renderCohorts, performance: renderPerformance, explorer: renderExplorer, importance: renderImportance,
    individual: renderIndividual, whatif: renderWhatif, ice: renderIce };
  // tabs in files of their own (interactions.js, counterfactuals.js, monitoring.js), loaded before this one: each put
  // {render(panel, current, lib), needsRows} on window.shapserveTabs; lib is the helpers below
  const LIB = { S, h, $, api, plot, select, fmt, message, save, explanationLine, classOptions, defaultClass,
    activeCohort, pickers, selectedPoint, show, rerender, fieldOptions, scaffold, storageKey, allSources };
  for (const [tab, spec] of Object.entries(window.shapserveTabs || {})) {
    TABS.push(tab);
    if (spec.needsRows) NEEDS_ROWS[tab] = true;
    RENDER[tab] = (panel, current) => spec.render(panel, current, LIB);
  }

  // ------------------------------------------------------------------------------------ wiring
  document.querySelectorAll("nav button").forEach((b) => b.addEventListener("click", () => { if (!b.disabled) show(b.dataset.tab); }));
  $("#keyform").addEventListener("submit", (ev) => {
    ev.preventDefault();
    S.key = $("#key").value.trim();
    if (S.key) sessionStorage.setItem("shapserve.key", S.key); else sessionStorage.removeItem("shapserve.key");
    $("#key").value = "";
    init();
  });
  for (const ev of ["pointerenter", "focus"]) $("#source").addEventListener(ev, () => allSources().catch((err) => message(err.message)));
  $("#source").addEventListener("change", () => {
    S.source = $("#source").value;
    sessionStorage.setItem(`shapserve.source.${S.sources.model.name}:${S.sources.model.version}`, S.source);
    for (const p of document.querySelectorAll(".panel")) { p.dataset.built = ""; }
    loadSource().catch((err) => message(err.message));
  });
  window.addEventListener("hashchange", () => {
    const tab = location.hash.slice(1);
    if (TABS.includes(tab) && tab !== S.tab && S.summary) show(tab);
  });
  init();
})();
