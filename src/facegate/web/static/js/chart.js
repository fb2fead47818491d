// @ts-check
// A small SVG bar chart of counts per day, drawn without any library.

import { svg } from "./dom.js";

const H = 220;
const PAD = { left: 40, right: 8, top: 12, bottom: 28 };

/**
 * A round step for about four grid lines up to `max`.
 * @param {number} max
 */
function step(max) {
  const raw = Math.max(1, max) / 4;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  // 10 × magnitude always reaches raw, so the search never comes back empty.
  const nice = /** @type {number} */ ([1, 2, 5, 10].find((m) => m * magnitude >= raw));
  return Math.max(1, nice * magnitude);
}

/**
 * Bars for `points` = [{label, value}], oldest first; each bar has a hover title. `width` is
 * the space on screen in pixels, so text keeps its size instead of scaling with the drawing.
 * @param {{label: string, value: number}[]} points
 * @param {{title: string, width: number}} options
 */
export function barChart(points, { title, width }) {
  const W = Math.max(300, Math.round(width));
  const max = Math.max(0, ...points.map((p) => p.value));
  const unit = step(max);
  const top = Math.max(unit, Math.ceil(max / unit) * unit);
  const plotW = W - PAD.left - PAD.right;
  const plotH = H - PAD.top - PAD.bottom;
  const chart = svg("svg", {
    class: "chart",
    viewBox: `0 0 ${W} ${H}`,
    role: "img",
    "aria-label": title,
  });
  chart.append(svg("title", {}, title));
  for (let v = 0; v <= top; v += unit) {
    const y = PAD.top + plotH - (v / top) * plotH;
    chart.append(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: y, y2: y }));
    chart.append(
      svg("text", { class: "tick", x: PAD.left - 6, y: y + 4, "text-anchor": "end" }, String(v)),
    );
  }
  const slot = plotW / points.length;
  const labelEvery = Math.ceil(points.length / Math.max(3, Math.floor(plotW / 70)));
  points.forEach((point, i) => {
    const barH = (point.value / top) * plotH;
    const x = PAD.left + i * slot;
    const bar = svg("rect", {
      class: "bar",
      x: x + slot * 0.15,
      y: PAD.top + plotH - barH,
      width: slot * 0.7,
      height: Math.max(barH, point.value ? 1 : 0),
      "data-value": point.value,
    });
    bar.append(svg("title", {}, `${point.label}: ${point.value} request(s)`));
    chart.append(bar);
    if (i % labelEvery === 0) {
      chart.append(
        svg(
          "text",
          { class: "tick", x: x + slot / 2, y: H - 8, "text-anchor": "middle" },
          point.label,
        ),
      );
    }
  });
  return chart;
}
