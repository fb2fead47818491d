// @ts-check
// A photo with its faces drawn over it: boxes with labels, landmarks and head-pose axes.

import { h, svg } from "./dom.js";

/** @typedef {import("./api.js").Face} Face */
/**
 * What a box says about its face: a label, the rows of its hover card, a tone for its colour.
 * @typedef {{label: string, tone: string, details: [string, string | null][]}} Description
 */

/**
 * Age as "25–32" from the seed's [low, high] or CompreFace 1.2's {low, high}.
 * @param {Face["age"]} age
 */
export function ageText(age) {
  if (!age) return null;
  const [low, high] = Array.isArray(age) ? age : [age.low, age.high];
  return `${low}–${high}`;
}

/**
 * Gender as "male" from "male" or {value: "male"}.
 * @param {Face["gender"]} gender
 */
export function genderText(gender) {
  if (!gender) return null;
  return typeof gender === "string" ? gender : gender.value;
}

/** @param {number} value */
export function similarityText(value) {
  return Number(value).toFixed(3);
}

/**
 * Head-pose axes (yaw, pitch, roll in degrees) at the box centre, as three SVG lines.
 * @param {NonNullable<Face["pose"]>} pose
 * @param {Face["box"]} box
 */
function poseAxes({ pitch, roll, yaw }, { x_min, y_min, x_max, y_max }) {
  const size = (x_max - x_min) / 2;
  const cx = (x_min + x_max) / 2;
  const cy = (y_min + y_max) / 2;
  const [p, r, y] = [pitch, roll, -yaw].map((deg) => (deg * Math.PI) / 180);
  /** @type {[string, number, number][]} */
  const ends = [
    [
      "x",
      Math.cos(y) * Math.cos(r),
      Math.cos(p) * Math.sin(r) + Math.cos(r) * Math.sin(p) * Math.sin(y),
    ],
    [
      "y",
      -Math.cos(y) * Math.sin(r),
      Math.cos(p) * Math.cos(r) - Math.sin(p) * Math.sin(y) * Math.sin(r),
    ],
    ["z", Math.sin(y), -Math.cos(y) * Math.sin(p)],
  ];
  const group = svg("g", { class: "pose" });
  for (const [axis, dx, dy] of ends) {
    group.append(
      svg("line", {
        class: `axis-${axis}`,
        x1: cx,
        y1: cy,
        x2: cx + size * dx,
        y2: cy + size * dy,
      }),
    );
  }
  return group;
}

/**
 * The photo at `url` with one box per face. `describe(face, index)` returns
 * {label, details: [[name, value]...], tone} for the box's label and its hover card.
 * Boxes are placed in percentages of the image size so they follow any scaling.
 * @param {string} url
 * @param {Face[]} faces
 * @param {(face: Face, index: number) => Description} describe
 * @param {{width: number, height: number}} size the photo's natural size
 */
export function facePhoto(url, faces, describe, { width, height }) {
  /**
   * @param {number} value
   * @param {number} total
   */
  const pct = (value, total) => `${(100 * value) / total}%`;
  const art = svg("svg", {
    class: "marks",
    viewBox: `0 0 ${width} ${height}`,
    "aria-hidden": "true",
  });
  const radius = Math.max(width, height) / 250;
  for (const face of faces) {
    for (const [x, y] of face.landmarks || []) {
      art.append(svg("circle", { class: "landmark", cx: x, cy: y, r: radius }));
    }
    if (face.pose && face.box) art.append(poseAxes(face.pose, face.box));
  }
  const boxes = faces.map((face, index) => {
    const { label, details, tone } = describe(face, index);
    const { x_min, y_min, x_max, y_max } = face.box;
    // Boxes on the right half open their label and card leftwards, to stay on the photo.
    const side = x_min + x_max > width ? "right" : "left";
    return h(
      `div.face-box.${tone}.${side}`,
      {
        tabIndex: 0,
        dataset: { face: String(index) },
        style: {
          left: pct(x_min, width),
          top: pct(y_min, height),
          width: pct(x_max - x_min, width),
          height: pct(y_max - y_min, height),
        },
      },
      h("span.face-label", {}, label),
      h(
        "dl.face-card",
        {},
        details.flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]),
      ),
    );
  });
  return h("figure.photo", {}, h("img", { src: url, alt: "Uploaded photo" }), art, boxes);
}

/**
 * Natural size of an image file, needed before the boxes can be placed.
 * @param {string} url
 * @returns {Promise<{width: number, height: number}>}
 */
export function imageSize(url) {
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => resolve({ width: img.naturalWidth, height: img.naturalHeight });
    img.onerror = () => reject(new Error("The browser cannot display this image."));
    img.src = url;
  });
}
