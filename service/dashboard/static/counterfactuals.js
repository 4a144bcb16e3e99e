/* shapserve dashboard: the Counterfactuals tab, beside What-if (registered on window.shapserveTabs;
 * dashboard.js runs it).
 *
 * Pick a row (or a session row), a target (a class, or a range of a regressor's prediction) and the
 * features that may change; POST counterfactuals answers, and each counterfactual opens in What-if as
 * a session row.
 */
(function () {
  "use strict";

  function targetControl(lib, point) {
    const { S, h, select } = lib;
    const classes = S.summary.classes;
    if (classes) {
      const other = classes.find((c) => !point || c !== point.prediction) || classes[0];
      return h("label", {}, "Target class", select(classes.map((c) => ({ value: c, label: c })), other, { id: "cf-target" }));
    }
    // default: a fifth above the row's prediction and up
    const low = point && typeof point.prediction === "number" ? Number((point.prediction * 1.2).toPrecision(4)) : "";
    return h("span", { class: "controls" }, h("label", {}, "Target prediction from", h("input", { type: "number", step: "any", id: "cf-low", value: low })),
      h("label", {}, "to", h("input", { type: "number", step: "any", id: "cf-high" })));
  }

  function readTarget(lib, panel) {
    const { S, $ } = lib;
    if (S.summary.classes) return $("#cf-target", panel).value;
    const num = (id) => ($(id, panel).value === "" ? null : Number($(id, panel).value));
    return [num("#cf-low"), num("#cf-high")];
  }

  function targetText(lib, target) {
    // the answer's target in words: a class, or a range of the prediction whose open end is null
    if (!Array.isArray(target)) return `class ${lib.fmt(target)}`;
    const [low, high] = target.map((v) => (v === null ? null : lib.fmt(v)));
    if (low !== null && high !== null) return `a prediction from ${low} to ${high}`;
    return low !== null ? `a prediction of at least ${low}` : `a prediction of at most ${high}`;
  }

  function outcome(lib, item, classes, target) {
    // what the bars show: the target class's probability, or the prediction of a regressor
    if (!classes) return item.prediction;
    return item.probabilities ? item.probabilities[classes.indexOf(target)] : null;
  }

  function openInWhatif(lib, point, item, i) {
    const { S } = lib;
    S.session.push({ name: `counterfactual ${i + 1} of ${point.name}`, instance: item.instance });
    lib.save();
    S.selected = { type: "session", index: S.session.length - 1 };
    return lib.show("whatif");
  }

  async function find(panel, lib, point, current) {
    const { S, h, api, $, fmt } = lib;
    const fixed = [...panel.querySelectorAll(".cf-may:not(:checked)")].map((b) => b.value);
    const body = { instances: [point.instance], target: readTarget(lib, panel), count: Number($("#cf-count", panel).value) || 3,
      constraints: fixed.length ? { fixed } : null };
    const [ans, original] = await Promise.all([api("counterfactuals", body), api("predict", { instances: [point.instance] })]);
    if (!current()) return;
    S.last.counterfactuals = { request: body, answer: ans };
    const row = ans.rows[0];
    const items = row.counterfactuals;
    const out = $("#cf-result", panel);
    const head = h("tr", {}, h("th", { text: "feature" }), h("th", { text: point.name }),
      ...items.map((_, i) => h("th", { text: `counterfactual ${i + 1}` })));
    const feats = ans.features.map((f) => h("tr", {}, h("td", { text: f }), h("td", { text: fmt(point.instance[f]) }),
      ...items.map((c, i) => h("td", { class: c.changes[f] ? "changed" : null, style: c.changes[f] ? "font-weight:700;color:#c4580c" : null, "data-cf": i, "data-feature": f,
        "data-value": JSON.stringify(c.instance[f]), text: c.changes[f] ? fmt(c.instance[f]) : "·" }))));
    const preds = h("tr", {}, h("th", { text: "prediction" }), h("th", { text: fmt(original.predictions[0]) }),
      ...items.map((c, i) => h("th", { class: "cf-prediction", "data-cf": i, "data-value": JSON.stringify(c.prediction), text: fmt(c.prediction) })));
    const dist = h("tr", {}, h("td", { text: "distance" }), h("td", { text: "0" }),
      ...items.map((c, i) => h("td", { class: "cf-distance", "data-cf": i, "data-value": String(c.distance), text: fmt(c.distance) })));
    const open = h("tr", {}, h("td", {}), h("td", {}), ...items.map((c, i) => h("td", {},
      h("button", { class: "alt cf-open", id: `cf-open-${i}`, text: "Open in What-if", onclick: () => openInWhatif(lib, point, c, i) }))));
    const said = row.reason ? h("p", { class: "hint", id: "cf-reason", text: row.reason }) : "";
    out.replaceChildren(h("p", { class: "hint", id: "cf-found", "data-found": row.found,
      text: `${row.found} counterfactual${row.found === 1 ? "" : "s"} reaching ${targetText(lib, ans.target)}; changed values are shown, "·" keeps the row's value.` }),
    said, h("table", { class: "grid", id: "cf-table" }, h("thead", {}, head), h("tbody", {}, ...feats, dist, open), h("tfoot", {}, preds)));
    const classes = ans.classes;
    const target = S.summary.classes ? body.target : null;
    const names = [point.name, ...items.map((_, i) => `counterfactual ${i + 1}`)];
    const firstProba = original.probabilities ? original.probabilities[0][classes.indexOf(target)] : original.predictions[0];
    const values = [classes ? firstProba : original.predictions[0], ...items.map((c) => outcome(lib, c, classes, target))];
    await lib.plot($("#cf-plot", panel), [{ type: "bar", x: names, y: values, marker: { color: names.map((_, i) => (i ? "#ff7f0e" : "#1f77b4")) } }],
      { title: { text: classes ? `P(${target})` : "prediction" }, showlegend: false });
  }

  async function render(panel, current, lib) {
    const { S, h, $ } = lib;
    const point = await lib.selectedPoint();
    if (!current()) return;
    const may = S.summary.features.map((f) => h("label", {}, h("input", { type: "checkbox", class: "cf-may", value: f.name, checked: true }), f.name));
    const count = h("input", { type: "number", min: 1, max: 20, value: 3, id: "cf-count" });
    const run = h("button", { class: "act", id: "cf-run", text: "Find counterfactuals" });
    panel.replaceChildren(h("h2", { text: "Counterfactuals" }), lib.pickers(panel, "cf", lib.rerender),
      h("p", { class: "hint", text: `Starting from ${point ? point.name : "nothing"}: the nearest rows the served model answers with the target, ` +
        "changing only the features that may change, to values the training data holds (POST counterfactuals)." }),
      h("div", { class: "controls" }, targetControl(lib, point), h("label", {}, "How many", count), run),
      h("div", { class: "controls cats", id: "cf-may" }, h("span", { class: "hint", text: "May change:" }), ...may),
      h("div", { id: "cf-result" }), h("div", { class: "plot short", id: "cf-plot" }));
    if (!point || !point.instance) return;
    run.addEventListener("click", async () => {
      panel.dataset.status = "loading";
      try {
        await find(panel, lib, point, current);
        panel.dataset.status = "ready";
        lib.message("");
      } catch (err) {
        panel.dataset.status = "error";
        lib.message("Counterfactuals: " + err.message);
      }
    });
    $("#cf-result", panel).dataset.row = point.name;
    await find(panel, lib, point, current);
  }

  window.shapserveTabs = window.shapserveTabs || {};
  window.shapserveTabs.counterfactuals = { render, needsRows: true };
})();
