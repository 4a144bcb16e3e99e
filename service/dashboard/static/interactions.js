/* shapserve dashboard: the Interactions tab (registered on window.shapserveTabs; dashboard.js runs it).
 *
 * One row's matrix comes from POST explain_interactions (the served route itself); a cohort's mean
 * |interaction| matrix and the dependence plot coloured by the strongest interacting feature come from
 * POST dashboard/api/interactions.  Matrices are HTML tables (the vendored plotly.js basic bundle has no
 * heat map trace); every cell carries its value in data-value, as the page shows it.
 */
(function () {
  "use strict";

  function cellColour(v, top) {
    // red for positive, blue for negative, white at 0; |v| / top sets the strength
    const t = top > 0 ? Math.min(Math.abs(v) / top, 1) : 0;
    const [r, g, b] = v >= 0 ? [214, 96, 77] : [67, 147, 195];
    const mix = (c) => Math.round(255 + (c - 255) * t);
    return `rgb(${mix(r)},${mix(g)},${mix(b)})`;
  }

  function heatTable(lib, id, features, matrix, caption) {
    const { h, fmt } = lib;
    let top = 0;
    for (const row of matrix) for (const v of row) top = Math.max(top, Math.abs(v));
    const head = h("tr", {}, h("th", { text: "" }), ...features.map((f) => h("th", { title: f, style: "font-size:11px;max-width:70px;overflow:hidden;text-overflow:ellipsis", text: f })));
    const body = matrix.map((row, i) => h("tr", {}, h("th", { text: features[i] }), ...row.map((v, j) =>
      h("td", { "data-i": i, "data-j": j, "data-value": String(v), title: `${features[i]} × ${features[j]}: ${v}`,
        style: `background:${cellColour(v, top)}`, class: i === j ? "diag" : null, text: fmt(v, 3) }))));
    return h("div", { class: "heatwrap" }, h("p", { class: "hint", text: caption }),
      h("table", { class: "grid heat", id }, h("thead", {}, head), h("tbody", {}, ...body)));
  }

  function rowMatrix(ans, k) {
    // /explain_interactions' values of its one row for output k: [feature][feature]
    return Array.isArray(ans.expected_values) ? ans.interaction_values[0][k] : ans.interaction_values[0];
  }

  async function drawRow(panel, lib, current) {
    const { S, api, $ } = lib;
    const point = await lib.selectedPoint();
    if (!current() || !point || !point.instance) return;
    const ans = await api("explain_interactions", { instances: [point.instance] });
    if (!current()) return;
    const clsSel = $("#int-class", panel);
    const k = ans.classes ? Math.max(ans.classes.indexOf(clsSel ? clsSel.value : ""), 0) : 0;
    S.last.interactionsRow = { instance: point.instance, answer: ans, k };
    const cls = ans.classes ? ` for class ${ans.classes[k]}` : "";
    $("#int-rowmap", panel).replaceChildren(heatTable(lib, "int-row-table", ans.features, rowMatrix(ans, k),
      `${point.name}${cls}: off the diagonal half of each pair's Shapley interaction index, on it the main effect; ` +
      `each row sums to the feature's SHAP value (${ans.output_space} space). ${ans.interaction_note}.`));
  }

  function dependenceTraces(dep) {
    const withColour = dep.color_values && dep.color && dep.color.kind === "number";
    if (!dep.color_values) return [{ type: "scatter", mode: "markers", name: dep.feature, x: dep.x_values, y: dep.shap_values,
      marker: { size: 6, color: "#1f77b4" } }];
    if (withColour) {
      return [{ type: "scatter", mode: "markers", name: dep.partner, x: dep.x_values, y: dep.shap_values,
        marker: { size: 6, color: dep.color_values.map((v) => (v === null ? 0 : v)), colorscale: "RdBu", reversescale: true,
          showscale: true, colorbar: { title: { text: dep.partner } } },
        hovertemplate: `${dep.feature}=%{x}<br>SHAP %{y:.4g}<br>${dep.partner}=%{marker.color}<extra></extra>` }];
    }
    const groups = {};
    dep.color_values.forEach((c, i) => { const key = c === null ? "(missing)" : String(c); (groups[key] = groups[key] || []).push(i); });
    return Object.entries(groups).map(([name, idx]) => ({ type: "scatter", mode: "markers", name: `${dep.partner} = ${name}`,
      x: idx.map((i) => dep.x_values[i]), y: idx.map((i) => dep.shap_values[i]), marker: { size: 6 } }));
  }

  async function drawCohort(panel, lib, current) {
    const { S, api, $, fmt } = lib;
    const clsSel = $("#int-class", panel);
    const res = await api("dashboard/api/interactions", { source: S.source, cohort: lib.activeCohort(),
      class: clsSel && clsSel.value ? clsSel.value : null, feature: $("#int-feature", panel).value,
      max_rows: Number($("#int-rows", panel).value) || 100 });
    if (!current()) return;
    S.last.interactions = res;
    $("#int-cohortmap", panel).replaceChildren(heatTable(lib, "int-cohort-table", res.features, res.mean_abs,
      `Mean |interaction| over ${fmt(res.rows.length)} rows of the active cohort (${fmt(res.n_cohort)} rows; a sample)` +
      (res.class ? `, class ${res.class}` : "") + `; method ${res.method}` + (res.exact ? " (exact)" : " (estimated)") + `. ${res.note}.`));
    const dep = res.dependence;
    $("#int-dep-notes", panel).replaceChildren(lib.explanationLine(res.output_space, S.summary.fidelity,
      dep.partner ? `coloured by ${dep.partner}, the feature interacting most with ${dep.feature} (mean |interaction| ${fmt(dep.partner_mean_abs)})`
        : `no feature interacts with ${dep.feature} on these rows: not coloured`));
    await lib.plot($("#int-dep-plot", panel), dependenceTraces(dep), { title: { text: `${dep.feature}: value vs SHAP value` },
      xaxis: { title: { text: dep.feature } }, yaxis: { title: { text: `SHAP value (${res.output_space})` } } });
  }

  async function render(panel, current, lib) {
    const { S, h, select, $ } = lib;
    lib.scaffold(panel, "interactions:" + S.source, (p) => {
      const feats = S.summary.features.map((f) => ({ value: f.name, label: f.name }));
      const feature = select(feats, feats[0].value, { id: "int-feature" });
      const cls = select(lib.classOptions(false), lib.defaultClass(), { id: "int-class" });
      const rows = h("input", { type: "number", min: 1, max: 1000, value: 100, id: "int-rows" });
      for (const el of [feature, cls, rows]) el.addEventListener("change", lib.rerender);
      p.append(h("h2", { text: "Interactions" }), lib.pickers(p, "int", lib.rerender),
        h("div", { class: "controls" }, S.summary.classes ? h("label", {}, "Class", cls) : "",
          h("label", {}, "Dependence of", feature), h("label", {}, "Cohort rows", rows)),
        h("div", { class: "row" }, h("div", { id: "int-rowmap", style: "flex:1 1 480px" }), h("div", { id: "int-cohortmap", style: "flex:1 1 480px" })),
        h("h3", { text: "Dependence, coloured by the strongest interaction" }), h("div", { id: "int-dep-notes" }),
        h("div", { class: "plot", id: "int-dep-plot" }));
    });
    await Promise.all([drawRow(panel, lib, current), drawCohort(panel, lib, current)]);
    if (!current()) return;
    $("#int-rowmap", panel).dataset.ready = "1";
  }

  window.shapserveTabs = window.shapserveTabs || {};
  window.shapserveTabs.interactions = { render, needsRows: true };
})();
