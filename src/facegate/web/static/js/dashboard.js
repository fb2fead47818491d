// @ts-check
// The service dashboard: what the service holds and how much it is used, per day.

import { admin } from "./api.js";
import { h, fill } from "./dom.js";
import { barChart } from "./chart.js";
import { KIND_LABELS, loadService, serviceHeader } from "./service.js";

/** @typedef {import("./api.js").DayCount} DayCount */
/** @typedef {import("./session.js").PageParams} PageParams */

const RANGES = [30, 90, 180];

/** @param {Date} date */
function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

/**
 * Counts per day for the last `days` days, zero where the server has no row.
 * @param {DayCount[]} stats
 * @param {number} days
 * @returns {{label: string, value: number}[]}
 */
function perDay(stats, days, today = new Date()) {
  const counts = new Map();
  for (const row of stats) {
    const day = row.createdDate.slice(0, 10);
    counts.set(day, (counts.get(day) ?? 0) + row.requestCount);
  }
  const points = [];
  for (let back = days - 1; back >= 0; back -= 1) {
    const date = new Date(
      Date.UTC(today.getUTCFullYear(), today.getUTCMonth(), today.getUTCDate() - back),
    );
    const day = isoDay(date);
    points.push({ label: day.slice(5), value: counts.get(day) ?? 0 });
  }
  return points;
}

/**
 * @param {string} label
 * @param {string | number} value
 */
function stat(label, value) {
  return h(
    "div.stat",
    {},
    h("span.stat-value", {}, String(value)),
    h("span.stat-label", {}, label),
  );
}

/**
 * @param {HTMLElement} main
 * @param {PageParams} params
 */
export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  const { service, kind } = ctx;
  const [stats, config] = await Promise.all([
    admin.statistics(params.app, params.service),
    admin.config(),
  ]);
  const chartBox = h("div.chart-box");
  let days = RANGES[0];

  function drawChart() {
    const points = perDay(stats, days);
    const total = points.reduce((sum, p) => sum + p.value, 0);
    fill(
      chartBox,
      h(
        "div.title-row",
        {},
        h("h2", {}, "Requests per day"),
        h(
          "div.segmented",
          { role: "group", "aria-label": "Range" },
          RANGES.map((n) =>
            h(
              "button",
              {
                type: "button",
                class: n === days ? "active" : null,
                onclick: () => {
                  days = n;
                  drawChart();
                },
              },
              `${n} days`,
            ),
          ),
        ),
      ),
      h(
        "p.muted",
        {},
        `${total} request(s) in the last ${days} days (recognize, detect and verify calls).`,
      ),
      barChart(points, {
        title: `Requests per day, last ${days} days`,
        width: chartBox.clientWidth,
      }),
    );
  }

  fill(
    main,
    serviceHeader(ctx, "dashboard"),
    h(
      "section.stats",
      {},
      stat("Type", KIND_LABELS[kind]),
      stat("Created", new Date(service.createdDate).toLocaleDateString()),
      kind === "recognition" ? stat("Subjects", service.subjectCount) : null,
      kind === "recognition" ? stat("Face examples", service.imageCount) : null,
      stat("Model", config.faceModel.name),
    ),
    h("p.muted.model-licence", {}, `Model licence: ${config.faceModel.licence}.`),
    h("section.card", {}, chartBox),
  );
  drawChart();
  // Redraw at the new width when the window (or a phone's orientation) changes.
  let width = chartBox.clientWidth;
  new ResizeObserver(() => {
    if (Math.abs(chartBox.clientWidth - width) < 8) return;
    width = chartBox.clientWidth;
    drawChart();
  }).observe(chartBox);
}
