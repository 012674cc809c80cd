// Charts drawn as SVG: horizontal bars for rankings, columns for a series
// over time, lines for the live traffic. Each chart is an image with a
// text alternative; the numbers are also written next to the bars.
import { h, s } from "./dom.js";

let chartCount = 0;

// barChart ranks items ({label, value, href?, note?}) with bars scaled to
// the largest value.
export function barChart(items, { title, unit = "", empty = "Nothing yet." }) {
  if (items.length === 0) return h("p", { class: "empty" }, empty);
  const id = `chart-${++chartCount}`;
  const max = Math.max(...items.map((i) => i.value), 1);
  const row = 26, labelWidth = 165, barWidth = 155, width = labelWidth + barWidth + 50;
  const svg = s("svg", { viewBox: `0 0 ${width} ${items.length * row}`, role: "img", "aria-labelledby": id, class: "bars" },
    s("title", { id }, `${title}: ${items.map((i) => `${i.label} ${i.value}${unit}`).join(", ")}`),
    items.map((item, n) => {
      const y = n * row;
      const w = Math.max(2, (item.value / max) * barWidth);
      const label = s("text", { x: labelWidth - 8, y: y + row / 2, "text-anchor": "end", "dominant-baseline": "middle", class: "bar-label" },
        truncate(item.label, 21));
      return s("g", {},
        item.href ? s("a", { href: item.href }, label) : label,
        s("rect", { x: labelWidth, y: y + 5, width: w, height: row - 10, rx: 3, class: `bar ${item.className || ""}` }),
        s("text", { x: labelWidth + w + 6, y: y + row / 2, "dominant-baseline": "middle", class: "bar-value" },
          `${item.value.toLocaleString()}${unit}`));
    }));
  return h("figure", { class: "chart" }, svg, items.some((i) => i.note) ?
    h("ul", { class: "notes" }, items.filter((i) => i.note).map((i) => h("li", {}, h("strong", {}, i.label), ": ", i.note))) : null);
}

// columnChart draws one or more series over time as grouped columns:
// series = [{name, className, values: [numbers]}], labels = x labels.
export function columnChart(labels, series, { title }) {
  const id = `chart-${++chartCount}`;
  const height = 170, width = 420, left = 36, bottom = 22;
  const max = Math.max(1, ...series.flatMap((sr) => sr.values));
  const slot = (width - left) / Math.max(labels.length, 1);
  const bar = Math.max(1, (slot - 2) / series.length);
  const y = (v) => height - bottom - (v / max) * (height - bottom - 8);
  const every = Math.ceil(labels.length / 6);
  const totals = series.map((sr) => `${sr.name} ${sr.values.reduce((a, b) => a + b, 0)}`).join(", ");
  return h("figure", { class: "chart" },
    s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": id, class: "columns" },
      s("title", { id }, `${title}; totals: ${totals}`),
      axis(left, width, height - bottom, max, y),
      labels.map((label, i) => [
        series.map((sr, j) => s("rect", {
          x: left + i * slot + 1 + j * bar, y: y(sr.values[i]), width: bar, height: height - bottom - y(sr.values[i]), class: `bar ${sr.className}`,
        })),
        i % every === 0 ? s("text", { x: left + i * slot, y: height - 6, class: "tick" }, label) : null,
      ])),
    legend(series));
}

// lineChart draws series of points ({t, v}) over the same time span.
export function lineChart(series, { title, unit, format = (v) => v.toFixed(1), width = 640 }) {
  const id = `chart-${++chartCount}`;
  const height = width / 4, left = 48, bottom = 8;
  const points = series.flatMap((sr) => sr.points);
  const t0 = Math.min(...points.map((p) => p.t)), t1 = Math.max(...points.map((p) => p.t));
  const max = Math.max(...points.map((p) => p.v), 1) * 1.15;
  const x = (t) => left + (t1 > t0 ? ((t - t0) / (t1 - t0)) * (width - left - 4) : 0);
  const y = (v) => height - bottom - (v / max) * (height - bottom - 8);
  const latest = series.map((sr) => `${sr.name} ${sr.points.length ? format(sr.points.at(-1).v) : "–"} ${unit}`).join(", ");
  return h("figure", { class: "chart" },
    s("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": id, class: "lines" },
      s("title", { id }, `${title}; now: ${latest}`),
      axis(left, width, height - bottom, max, y, format),
      series.map((sr) => sr.points.length > 1 ?
        s("polyline", { points: sr.points.map((p) => `${x(p.t).toFixed(1)},${y(p.v).toFixed(1)}`).join(" "), class: `line ${sr.className}` }) : null)),
    legend(series.map((sr) => ({ ...sr, name: `${sr.name}: ${sr.points.length ? format(sr.points.at(-1).v) : "–"} ${unit}` }))));
}

function axis(left, width, base, max, y, format = (v) => Math.round(v).toLocaleString()) {
  return [
    s("line", { x1: left, x2: width, y1: base, y2: base, class: "axis" }),
    s("line", { x1: left, x2: width, y1: y(max), y2: y(max), class: "grid-line" }),
    s("text", { x: left - 4, y: y(max), "text-anchor": "end", "dominant-baseline": "middle", class: "tick" }, format(max)),
    s("text", { x: left - 4, y: base, "text-anchor": "end", "dominant-baseline": "middle", class: "tick" }, "0"),
  ];
}

function legend(series) {
  return h("figcaption", { class: "legend" }, series.map((sr) =>
    h("span", {}, h("span", { class: `swatch ${sr.className}`, "aria-hidden": "true" }), sr.name)));
}

function truncate(text, n) {
  return text.length > n ? text.slice(0, n - 1) + "…" : text;
}
