// Small SVG charts for the annotation diagnostics.

import { h, svg } from "./dom.js";
import { formatScore } from "./format.js";

/** Theoretical vs observed isotope pattern: paired bars per peak, relative intensity 0-100 %. */
export function isotopeChart(peaks) {
  const width = 320;
  const height = 170;
  const margin = { top: 12, right: 8, bottom: 34, left: 34 };
  const plotW = width - margin.left - margin.right;
  const plotH = height - margin.top - margin.bottom;
  const top = Math.max(100, ...peaks.map((p) => Math.max(p.theo_int, p.observed_int)));
  const y = (value) => margin.top + plotH * (1 - value / top);
  const slot = plotW / Math.max(peaks.length, 1);
  const barW = Math.min(22, slot / 3);
  const children = [];
  for (const tick of [0, 50, 100]) {
    children.push(
      svg("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick), class: "grid" }),
      svg("text", { x: margin.left - 6, y: y(tick) + 4, "text-anchor": "end", class: "tick" }, `${tick}`),
    );
  }
  peaks.forEach((peak, k) => {
    const centre = margin.left + slot * (k + 0.5);
    const bar = (value, x, cls, title) =>
      svg("rect", { x, y: y(value), width: barW, height: Math.max(0, y(0) - y(value)), rx: 2, class: cls }, svg("title", {}, title));
    children.push(
      bar(peak.theo_int, centre - barW - 1, "theo", `theoretical ${peak.theo_int.toFixed(1)} % at m/z ${peak.theo_mz.toFixed(4)}`),
      bar(peak.observed_int, centre + 1, "observed", `observed ${peak.observed_int.toFixed(1)} %${peak.observed_mz ? ` at m/z ${peak.observed_mz.toFixed(4)}` : ""}`),
      svg("text", { x: centre, y: height - margin.bottom + 14, "text-anchor": "middle", class: "tick" }, peak.theo_mz.toFixed(3)),
    );
  });
  children.push(svg("text", { x: margin.left + plotW / 2, y: height - 4, "text-anchor": "middle", class: "axis-label" }, "m/z"));
  return h(
    "figure.chart",
    {},
    svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "isotope pattern, theoretical and observed" }, ...children),
    h("figcaption.legend", {}, h("span.key.theo"), "theoretical ", h("span.key.observed"), "observed (scaled)"),
  );
}

/** MSM and its three factors as labelled bars (0-1). */
export function scoreBars(detail) {
  const row = (label, value, hint, strong = false) =>
    h(
      `div.score-row${strong ? ".strong" : ""}`,
      { title: hint },
      h("span.score-label", {}, label),
      h("span.score-track", {}, scoreFill(value)),
      h("span.score-value", {}, formatScore(value)),
    );
  return h(
    "div.scores",
    {},
    row("MSM", detail.msm, "Metabolite-signal match: the product of the three scores", true),
    row("Spectral", detail.spectral, "isotope pattern similarity"),
    row("Spatial", detail.spatial, "isotope image correlation"),
    row("Chaos", detail.chaos, "spatial informativeness of the principal peak image"),
  );
}

function scoreFill(value) {
  const fill = h("span.score-fill");
  fill.style.width = `${Math.max(0, Math.min(1, value)) * 100}%`;
  return fill;
}
