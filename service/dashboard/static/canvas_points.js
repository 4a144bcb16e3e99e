/* shapserve dashboard: large marker scatters painted on a canvas, Plotly drawing their axes.
 *
 * Plotly's SVG scatter styles every point as a DOM node: 2,000 points cost it 150-700 ms in chromium here,
 * most of a tab switch (docs/dashboard.md, "Fast at size").  For a plot of at least MIN_POINTS markers
 * (circles or stars, one colour or Viridis), draw(Plotly, el, traces, layout, config) gives Plotly each
 * marker trace with mode "none" (its x, y and customdata unchanged: the hover labels and plotly_click still find its points, gd.data still holds
 * them) plus a point-less proxy trace for its legend entry or colour bar, then paints the markers on a
 * canvas over the plot area, again after every redraw (zoom, pan, resize, a legend click).
 */
(function () {
  "use strict";

  const MIN_POINTS = 300;
  const COLORWAY = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
  const NO_COLOUR = "#444"; // Plotly's colour for a point whose value is not a number
  // Plotly's "Viridis" (plotly.js 3.8.2, src/components/colorscale/scales.js)
  const VIRIDIS = [[0, "#440154"], [0.06274509803921569, "#48186a"], [0.12549019607843137, "#472d7b"], [0.18823529411764706, "#424086"],
    [0.25098039215686274, "#3b528b"], [0.3137254901960784, "#33638d"], [0.3764705882352941, "#2c728e"], [0.4392156862745098, "#26828e"],
    [0.5019607843137255, "#21918c"], [0.5647058823529412, "#1fa088"], [0.6274509803921569, "#28ae80"], [0.6901960784313725, "#3fbc73"],
    [0.7529411764705882, "#5ec962"], [0.8156862745098039, "#84d44b"], [0.8784313725490196, "#addc30"], [0.9411764705882353, "#d8e219"],
    [1, "#fde725"]].map(([at, hex]) => [at, [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16))]);

  function viridis(t) {
    let k = 1;
    while (k < VIRIDIS.length - 1 && VIRIDIS[k][0] < t) k++;
    const [a, ca] = VIRIDIS[k - 1], [b, cb] = VIRIDIS[k];
    const w = b > a ? Math.min(Math.max((t - a) / (b - a), 0), 1) : 0;
    return "rgb(" + ca.map((v, i) => Math.round(v + w * (cb[i] - v))).join(",") + ")";
  }

  const SYMBOLS = { circle: true, star: true };
  const markers = (t) => t.type === "scatter" && t.mode === "markers" && Array.isArray(t.x);
  const paintable = (t) => !t.xaxis && !t.yaxis && SYMBOLS[(t.marker && t.marker.symbol) || "circle"] &&
    (!t.marker || !t.marker.colorscale || t.marker.colorscale === "Viridis") &&
    !String(t.hovertemplate || "").includes("marker."); // a hover label that shows the marker keeps its markers
  function large(traces) {
    // every marker trace of a plot on the canvas (their order is their drawing order), or none
    const all = traces.filter(markers);
    return all.reduce((n, t) => n + t.x.length, 0) >= MIN_POINTS && all.every(paintable);
  }

  function colours(trace, index) {
    // one colour per point, as Plotly would draw it (the default colourway, or Viridis over the values' range)
    const m = trace.marker || {};
    if (Array.isArray(m.color)) {
      const finite = m.color.filter((v) => typeof v === "number" && Number.isFinite(v));
      const lo = Math.min(...finite), hi = Math.max(...finite);
      return { per: m.color.map((v) => (typeof v === "number" && Number.isFinite(v) ? viridis(hi > lo ? (v - lo) / (hi - lo) : 0.5) : NO_COLOUR)),
        range: finite.length ? [lo, hi] : null };
    }
    return { one: m.color || COLORWAY[index % COLORWAY.length] };
  }

  function split(traces) {
    // the traces Plotly draws (large ones without their markers, then their proxies) and what the canvas paints
    const shown = [], proxies = [], painted = [], on = large(traces);
    traces.forEach((t, i) => {
      if (!on || !markers(t)) { shown.push(t); return; }
      const m = t.marker || {}, c = colours(t, i), group = "canvas-" + i;
      const proxyMarker = c.one ? { color: c.one, size: m.size, opacity: m.opacity, symbol: m.symbol, line: m.line }
        : { color: c.range || [0, 1], colorscale: "Viridis", showscale: !!m.showscale, colorbar: m.colorbar, size: m.size, opacity: m.opacity };
      const bare = Object.assign({}, t, { mode: "none", showlegend: false, legendgroup: group });
      delete bare.marker;
      shown.push(bare);
      proxies.push({ type: "scatter", mode: "markers", name: t.name, x: [null], y: [null], legendgroup: group, hoverinfo: "skip",
        showlegend: t.showlegend, marker: proxyMarker });
      painted.push({ index: i, x: t.x, y: t.y, colours: c, size: m.size || 6, opacity: m.opacity === undefined ? 1 : m.opacity,
        star: m.symbol === "star", line: m.line && m.line.width ? m.line : null });
    });
    return { traces: shown.concat(proxies), painted };
  }

  function canvasOf(gd, create) {
    let cv = gd.querySelector("canvas.canvas-points");
    if (cv || !create) return cv;
    const svgs = gd.querySelectorAll(".svg-container > svg.main-svg");
    if (!svgs.length) return null;
    cv = document.createElement("canvas");
    cv.className = "canvas-points";
    cv.style.cssText = "position:absolute;pointer-events:none";
    svgs[0].after(cv); // above the axes and the grid, below the hover labels
    return cv;
  }

  function star(ctx, x, y, r) {
    // five points, outer radius r, inner radius 0.4 r, one point up
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + (k * Math.PI) / 5, rr = k % 2 ? 0.4 * r : r;
      if (k) ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a)); else ctx.moveTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath();
  }

  function paint(gd) {
    const painted = gd._canvasPoints || [], fl = gd._fullLayout;
    const cv = canvasOf(gd, painted.length > 0);
    if (!cv) return;
    if (!painted.length || !fl) { cv.remove(); return; }
    const s = fl._size, dpr = window.devicePixelRatio || 1;
    Object.assign(cv.style, { left: s.l + "px", top: s.t + "px", width: s.w + "px", height: s.h + "px" });
    cv.width = Math.round(s.w * dpr); cv.height = Math.round(s.h * dpr);
    const ctx = cv.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, s.w, s.h);
    const xa = fl.xaxis, ya = fl.yaxis;
    for (const p of painted) {
      const full = gd._fullData && gd._fullData[p.index];
      if (!full || full.visible !== true) continue; // hidden from its legend entry
      ctx.globalAlpha = p.opacity;
      const r = p.size / 2;
      let last = null;
      for (let i = 0; i < p.x.length; i++) {
        const px = xa.d2p(p.x[i]), py = ya.d2p(p.y[i]);
        if (!Number.isFinite(px) || !Number.isFinite(py)) continue;
        const colour = p.colours.one || p.colours.per[i];
        if (colour !== last) { ctx.fillStyle = colour; last = colour; }
        ctx.beginPath();
        if (p.star) star(ctx, px, py, r);
        else ctx.arc(px, py, r, 0, 2 * Math.PI);
        ctx.fill();
        if (p.line) { ctx.strokeStyle = p.line.color; ctx.lineWidth = p.line.width; ctx.stroke(); }
      }
    }
  }

  function padded(layout, painted) {
    // Plotly pads an axis around its markers (5% and their radius) but not around mode "none": pad by 6%
    const out = Object.assign({}, layout);
    for (const [axis, key] of [["xaxis", "x"], ["yaxis", "y"]]) {
      const given = layout[axis] || {};
      if (given.range || given.type === "category") continue;
      const v = painted.flatMap((p) => p[key]).filter((u) => typeof u === "number" && Number.isFinite(u));
      if (!v.length) continue;
      const lo = Math.min(...v), hi = Math.max(...v), pad = hi > lo ? 0.06 * (hi - lo) : 0.5;
      out[axis] = Object.assign({}, given, { autorangeoptions: Object.assign({}, given.autorangeoptions, { include: [lo - pad, hi + pad] }) });
    }
    return out;
  }

  async function draw(Plotly, el, traces, layout, config) {
    const { traces: shown, painted } = split(traces);
    el._canvasPoints = painted;
    // a picture from the mode bar would have no points: offer none for these plots
    const cfg = painted.length ? Object.assign({}, config, { modeBarButtonsToRemove: [...(config.modeBarButtonsToRemove || []), "toImage"] }) : config;
    // Plotly shows a legend for two or more traces: count the traces asked for, not their proxies
    let lay = layout;
    if (painted.length) {
      lay = padded(layout, painted);
      if (layout.showlegend === undefined) lay.showlegend = traces.filter((t) => t.showlegend !== false).length > 1;
    }
    const out = await Plotly.react(el, shown, lay, cfg);
    if (el._canvasWired !== el._ev) { // once per plot (Plotly.purge drops the listeners with their emitter)
      let queued = false;
      const again = () => { if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; paint(el); }); } };
      for (const ev of ["plotly_afterplot", "plotly_relayout", "plotly_restyle"]) el.on(ev, again);
      el._canvasWired = el._ev;
    }
    paint(el);
    return out;
  }

  window.shapserveCanvasPoints = { draw, MIN_POINTS };
})();
