/* shapserve dashboard: grouped bar charts drawn as plain SVG by this file, not by Plotly.
 *
 * The performance tab's two bar charts (a few dozen bars per cohort) cost Plotly 80-300 ms on the tab's
 * first visit in chromium here (its first plot of the page sets up its styles and fonts; docs/dashboard.md,
 * "A million rows"); these SVG elements take a few milliseconds.  draw(el, spec) replaces el's content:
 *
 *   spec = { title, xTitle, yTitle, series: [{ name, color, y: [...] }],
 *            categories: [...names]            one band per name, or
 *            edges: [...numbers], range: [lo, hi]  one band per bin [edges[i], edges[i + 1]] on a number axis }
 *
 * Every bar is a <rect> with data-series, data-index and data-value (its y) and a <title> for the hover
 * label; a legend names the series.  The chart is drawn again when el's width changes.
 */
(function () {
  "use strict";

  const NS = "http://www.w3.org/2000/svg";
  const M = { l: 60, r: 20, t: 36, b: 78 };

  function node(tag, attrs, text) {
    const el = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, String(v));
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function label(v) {
    return Math.abs(v) < 1e-12 ? "0" : String(Number(v.toPrecision(3)));
  }

  function ticks(lo, hi, count) {
    // about `count` round values from lo to hi (1, 2 or 5 times a power of ten apart)
    const span = hi - lo || 1;
    const raw = span / count, p = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(v);
    return { step, values: out };
  }

  function bands(spec, width) {
    // [left, right] of each band in pixels, and the x axis' ticks [position, text]
    if (spec.categories) {
      const w = width / Math.max(spec.categories.length, 1);
      return { bands: spec.categories.map((_, i) => [i * w, (i + 1) * w]),
        ticks: spec.categories.map((c, i) => [(i + 0.5) * w, String(c)]) };
    }
    const e = spec.edges, lo = spec.range ? spec.range[0] : e[0], hi = spec.range ? spec.range[1] : e[e.length - 1];
    const at = (v) => ((v - lo) / (hi - lo || 1)) * width;
    return { bands: e.slice(0, -1).map((v, i) => [at(v), at(e[i + 1])]),
      ticks: ticks(lo, hi, 6).values.map((v) => [at(v), label(v)]) };
  }

  function draw(el, spec) {
    el.shapserveBars = spec;
    const W = Math.max(el.clientWidth || 600, 200), H = Math.max(el.clientHeight || 380, 160);
    const w = W - M.l - M.r, h = H - M.t - M.b;
    const top = Math.max(0, ...spec.series.flatMap((s) => s.y.filter(Number.isFinite)));
    const step = ticks(0, top || 1, 5).step, ymax = Math.ceil((top || 1) / step - 1e-9) * step;
    const yt = ticks(0, ymax, 5);
    const y = (v) => M.t + h - (v / ymax) * h;
    const svg = node("svg", { class: "bars", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": spec.title || "bars" });
    svg.append(node("text", { x: M.l + w / 2, y: 20, "text-anchor": "middle", class: "bars-title" }, spec.title || ""));
    for (const v of yt.values) {
      svg.append(node("line", { x1: M.l, x2: M.l + w, y1: y(v), y2: y(v), class: "bars-grid" }));
      svg.append(node("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end", class: "bars-tick" }, label(v)));
    }
    const x = bands(spec, w), n = spec.series.length;
    spec.series.forEach((s, k) => {
      const g = node("g", { "data-series": k, fill: s.color });
      s.y.forEach((v, i) => {
        const [a, b] = x.bands[i], pad = (b - a) * 0.1, bw = (b - a - 2 * pad) / n;
        const value = Number.isFinite(v) ? v : 0;
        const r = node("rect", { x: M.l + a + pad + k * bw, y: y(value), width: Math.max(bw, 0.5), height: Math.max(y(0) - y(value), 0),
          "data-series": k, "data-index": i, "data-value": v });
        const where = spec.categories ? String(spec.categories[i]) : `${label(spec.edges[i])} to ${label(spec.edges[i + 1])}`;
        r.append(node("title", {}, `${s.name}: ${where}: ${label(value)}`));
        g.append(r);
      });
      svg.append(g);
    });
    svg.append(node("line", { x1: M.l, x2: M.l + w, y1: y(0), y2: y(0), class: "bars-axis" }));
    for (const [at, text] of x.ticks) svg.append(node("text", { x: M.l + at, y: M.t + h + 16, "text-anchor": "middle", class: "bars-tick" }, text));
    if (spec.xTitle) svg.append(node("text", { x: M.l + w / 2, y: M.t + h + 36, "text-anchor": "middle", class: "bars-axis-title" }, spec.xTitle));
    if (spec.yTitle) svg.append(node("text", { x: 14, y: M.t + h / 2, "text-anchor": "middle", class: "bars-axis-title", transform: `rotate(-90 14 ${M.t + h / 2})` }, spec.yTitle));
    let lx = M.l;
    spec.series.forEach((s, k) => {
      const item = node("g", { class: "bars-legend", "data-series": k, transform: `translate(${lx} ${H - 14})` });
      item.append(node("rect", { x: 0, y: -9, width: 10, height: 10, rx: 2, fill: s.color }), node("text", { x: 15, y: 0 }, s.name));
      svg.append(item);
      lx += 30 + 7 * String(s.name).length;
    });
    el.replaceChildren(svg);
    if (!el.shapserveResize && window.ResizeObserver) {
      let width = el.clientWidth;
      el.shapserveResize = new ResizeObserver(() => {
        if (el.clientWidth && el.clientWidth !== width && el.shapserveBars && el.firstChild) { width = el.clientWidth; draw(el, el.shapserveBars); }
      });
      el.shapserveResize.observe(el);
    }
  }

  function clear(el) {
    el.shapserveBars = null;
    el.replaceChildren();
  }

  window.shapserveBars = { draw, clear };
})();
