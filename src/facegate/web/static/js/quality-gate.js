// @ts-check
// The enrolment quality gate of a recognition service (dashboard settings): on or off, and
// its limits; new face examples outside a limit are refused with the failing measure named.

import { admin } from "./api.js";
import { h, fill, optionalNumberField, toast } from "./dom.js";

/** @typedef {import("./api.js").EnrolmentQuality} EnrolmentQuality */
/** @typedef {import("./service.js").ServiceContext} ServiceContext */

/** Each limit: its field, label, input range and step. */
const LIMITS = /** @type {const} */ ([
  ["minEyeDistance", "Least eye distance (pixels)", 0, 1000, 1],
  ["minSharpness", "Least sharpness", 0, 100000, 1],
  ["minBrightness", "Least brightness (0 to 1)", 0, 1, 0.01],
  ["maxBrightness", "Most brightness (0 to 1)", 0, 1, 0.01],
  ["maxYaw", "Most yaw (degrees)", 0, 90, 1],
  ["maxPitch", "Most pitch (degrees)", 0, 90, 1],
  ["minDetection", "Least detection score (0 to 1)", 0, 1, 0.01],
]);

/**
 * The gate's switch and, when it is on, one input per limit.
 * @param {ServiceContext["app"]} app
 * @param {ServiceContext["service"]} service
 */
export function qualityGateField(app, service) {
  const box = h("fieldset.types.quality-gate");

  /** @param {EnrolmentQuality | null} quality */
  const save = async (quality) => {
    try {
      service.enrolmentQuality = (
        await admin.changeSettings(app.id, service.id, { enrolmentQuality: quality })
      ).enrolmentQuality;
      toast(quality ? "Enrolment quality gate saved" : "Enrolment quality gate off");
    } catch (err) {
      toast(/** @type {Error} */ (err).message, "error");
    }
    draw();
  };

  /** @param {(typeof LIMITS)[number]} limit */
  const input = ([name, label, min, max, step]) =>
    optionalNumberField(
      label,
      {
        name,
        min,
        max,
        step,
        placeholder: "not checked",
        value: service.enrolmentQuality?.[name],
        disabled: !app.canEditServices,
        invalid: `${label}: a number from ${min} to ${max}`,
      },
      (value) => save({ ...service.enrolmentQuality, [name]: value }),
    );

  function draw() {
    const on = service.enrolmentQuality != null;
    fill(
      box,
      h("legend", {}, "Enrolment quality gate"),
      h(
        "label.radio",
        {},
        h("input", {
          type: "checkbox",
          name: "enrolmentQuality",
          checked: on,
          disabled: !app.canEditServices,
          // An empty object turns the gate on with the server's measured default limits.
          onchange: () => save(on ? null : {}),
        }),
        h("span", {}, "Refuse face examples of poor quality"),
      ),
      on ? h("div.row", {}, LIMITS.map(input)) : null,
      h(
        "p.muted",
        {},
        "New examples whose face is too small, blurred, dark or bright, or turned too far " +
          "are refused with the reason (docs/quality.md). An empty limit is not checked. " +
          "Off: every face is accepted, as CompreFace does.",
      ),
    );
  }
  draw();
  return box;
}
