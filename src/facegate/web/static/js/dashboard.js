// @ts-check
// The service dashboard: what the service holds and how much it is used, per day.

import { admin } from "./api.js";
import { h, fill, optionalNumberField, select, toast } from "./dom.js";
import { barChart } from "./chart.js";
import { qualityGateField } from "./quality-gate.js";
import { eventsSection } from "./events.js";
import { KIND_LABELS, loadService, serviceHeader } from "./service.js";

/** @typedef {import("./api.js").DayCount} DayCount */
/** @typedef {import("./api.js").ResponseFormat} ResponseFormat */
/** @typedef {import("./service.js").ServiceContext} ServiceContext */
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
 * The service's own settings: the shape of age and gender in its answers (Double Take reads
 * CompreFace 1.2's objects). Read-only for those who may not edit services.
 * @param {ServiceContext} ctx
 * @param {ResponseFormat} serverFormat
 */
function settingsSection({ app, service }, serverFormat) {
  /** @param {Event} event */
  const change = async (event) => {
    const target = /** @type {HTMLSelectElement} */ (event.target);
    const chosen = /** @type {ResponseFormat | null} */ (target.value || null);
    try {
      service.responseFormat = (
        await admin.changeSettings(app.id, service.id, { responseFormat: chosen })
      ).responseFormat;
      toast("Response format saved");
    } catch (err) {
      toast(/** @type {Error} */ (err).message, "error");
      target.value = service.responseFormat ?? "";
    }
  };
  return h(
    "section.card",
    {},
    h("h2", {}, "Settings"),
    h(
      "label.field",
      {},
      h("span", {}, "Response format"),
      select(
        { onchange: change, disabled: !app.canEditServices },
        [
          ["", `Server default (${serverFormat})`],
          ["seed", "seed"],
          ["compreface-1.2", "compreface-1.2"],
        ],
        service.responseFormat ?? "",
      ),
    ),
    h(
      "p.muted",
      {},
      'How age and gender appear in answers: seed gives [25, 32] and "male", ' +
        "compreface-1.2 gives objects with probabilities, as Double Take expects.",
    ),
    service.type === "recognition" ? thresholdField(app, service) : null,
    service.type === "recognition" ? qualityGateField(app, service) : null,
  );
}

/**
 * The similarity under which recognition answers "unknown" (an empty subjects list).
 * @param {ServiceContext["app"]} app
 * @param {ServiceContext["service"]} service
 */
function thresholdField(app, service) {
  return [
    optionalNumberField(
      "Similarity threshold",
      {
        min: 0,
        max: 1,
        step: 0.01,
        placeholder: "none",
        value: service.similarityThreshold,
        disabled: !app.canEditServices,
        invalid: "The threshold is a number from 0 to 1",
      },
      async (chosen, input) => {
        try {
          service.similarityThreshold = (
            await admin.changeSettings(app.id, service.id, { similarityThreshold: chosen })
          ).similarityThreshold;
          toast("Similarity threshold saved");
        } catch (err) {
          toast(/** @type {Error} */ (err).message, "error");
          input.value = String(service.similarityThreshold ?? "");
        }
      },
    ),
    h(
      "p.muted",
      {},
      "Recognition leaves out subjects less similar than this, so a stranger comes back " +
        "with no subjects (unknown). Empty: every match is kept, as CompreFace answers.",
    ),
  ];
}

/**
 * Event sinks that cannot deliver (MQTT on without a broker, a failing webhook): the server's
 * whole, so a door automation that stopped receiving is seen (docs/decisions.md D57).
 * @param {string[]} problems
 */
function eventProblems(problems) {
  if (!problems.length) return null;
  return h(
    "section.card.sink-problems",
    { role: "alert" },
    h("h2", {}, "Events are not being delivered"),
    h(
      "ul",
      {},
      problems.map((problem) => h("li", {}, problem)),
    ),
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
    eventProblems(config.eventProblems),
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
    settingsSection(ctx, config.responseFormat),
    kind === "recognition" ? eventsSection(ctx) : null,
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
