// @ts-check
// The test page of a service: drop a photo (two for verification), see the faces it finds.

import { faceApi } from "./api.js";
import { h, fill, copyButton, table, toast } from "./dom.js";
import { ageText, facePhoto, genderText, imageSize, similarityText } from "./overlay.js";
import { dropZone } from "./dropzone.js";
import { loadService, serviceHeader } from "./service.js";

/** @typedef {import("./api.js").Face} Face */
/** @typedef {import("./api.js").ServiceKind} ServiceKind */
/** @typedef {import("./overlay.js").Description} Description */
/** @typedef {import("./session.js").PageParams} PageParams */
/** @typedef {{result: Face[]}} FacesAnswer what recognize and detect answer */
/** @typedef {{result: [{source_image_face: Face, face_matches: Face[]}]}} VerifyAnswer */
/** @typedef {FacesAnswer | VerifyAnswer} Answer */
/** @typedef {[faces: Face[], describe: (face: Face) => Description]} View */

// CompreFace's test page asks for the same plugins.
const PLUGINS = ["landmarks", "gender", "age", "pose"];
// Similarities at or above this mean "same person" (the calibrated boundary, decisions.md D7).
const SAME = 0.5;

/** @type {Record<ServiceKind, {path: string, parts: [name: string, label: string][]}>} */
const OPERATIONS = {
  recognition: { path: "/recognition/recognize", parts: [["file", "Photo"]] },
  detection: { path: "/detection/detect", parts: [["file", "Photo"]] },
  verification: {
    path: "/verification/verify",
    parts: [
      ["source_image", "Source photo (one face)"],
      ["target_image", "Target photo"],
    ],
  },
};

/**
 * The card rows every kind of face has, those its plugins gave.
 * @param {Face} face
 * @returns {[string, string | null][]}
 */
function common(face) {
  /** @type {[string, string | null][]} */
  const rows = [
    ["Face probability", face.box ? similarityText(face.box.probability) : null],
    ["Age", ageText(face.age)],
    ["Gender", genderText(face.gender)],
    [
      "Pose",
      face.pose
        ? `yaw ${face.pose.yaw.toFixed(0)}°, pitch ${face.pose.pitch.toFixed(0)}°, roll ${face.pose.roll.toFixed(0)}°`
        : null,
    ],
  ];
  return rows.filter(([, value]) => value !== null);
}

/**
 * @param {Face} face
 * @returns {Description}
 */
function describeRecognized(face) {
  const [top, ...others] = face.subjects || [];
  const known = top && top.similarity >= SAME;
  // An empty list is the server saying "nobody" (under the service's threshold, or an empty
  // collection); below the boundary the closest subject is probably someone else. Both read
  // "Unknown" on the box, in their own colour, never as a name.
  const label = known ? `${top.subject} ${similarityText(top.similarity)}` : "Unknown";
  /** @type {[string, string][]} */
  const details = top
    ? [
        [known ? "Subject" : "Closest subject", top.subject],
        ["Similarity", similarityText(top.similarity)],
      ]
    : [["Subject", "Unknown: no one in the collection matches"]];
  for (const other of others)
    details.push(["Also", `${other.subject} ${similarityText(other.similarity)}`]);
  return {
    label,
    tone: known ? "match" : top ? "weak" : "unknown",
    details: [...details, ...common(face)],
  };
}

/**
 * @param {Face} face
 * @returns {Description}
 */
function describeDetected(face) {
  const summary = [ageText(face.age), genderText(face.gender)].filter(Boolean).join(" · ");
  return {
    label: summary || `face ${similarityText(face.box.probability)}`,
    tone: "match",
    details: common(face),
  };
}

/**
 * @param {Face} face
 * @returns {Description}
 */
function describeMatch(face) {
  const similarity = /** @type {number} */ (face.similarity); // verification gives it
  return {
    label: `similarity ${similarityText(similarity)}`,
    tone: similarity >= SAME ? "match" : "weak",
    details: [["Similarity", similarityText(similarity)], ...common(face)],
  };
}

/**
 * @param {Face} face
 * @returns {Description}
 */
function describeSource(face) {
  return { label: "source", tone: "source", details: common(face) };
}

/**
 * The photos with boxes, per part, for the answer of one operation.
 * @param {ServiceKind} kind
 * @param {Answer} body
 * @returns {Record<string, View>}
 */
function views(kind, body) {
  if (kind === "verification") {
    const [result] = /** @type {VerifyAnswer} */ (body).result;
    return {
      source_image: [[result.source_image_face], describeSource],
      target_image: [result.face_matches, describeMatch],
    };
  }
  const { result } = /** @type {FacesAnswer} */ (body);
  return { file: [result, kind === "recognition" ? describeRecognized : describeDetected] };
}

/**
 * The operation's path and query: the plugins, and `dry_run` unless the call is to count as a
 * client's (docs/api.md, docs/decisions.md D58).
 * @param {string} path
 * @param {boolean} live
 */
function target(path, live) {
  return `${path}?face_plugins=${PLUGINS.join(",")}${live ? "" : "&dry_run=true"}`;
}

/**
 * The same request as a curl command, to copy.
 * @param {string} key
 * @param {string} path with its query
 * @param {[string, File][]} parts
 */
function curl(key, path, parts) {
  const url = `${window.location.origin}/api/v1${path}`;
  const files = parts.map(([name, file]) => ` \\\n  -F "${name}=@${file.name}"`).join("");
  return `curl -X POST "${url}" \\\n  -H "x-api-key: ${key}"${files}`;
}

/**
 * The table of the faces found, one row each; a recognised face has a "Not <subject>" button
 * calling `reject(face number, subject)`.
 * @param {ServiceKind} kind
 * @param {Answer} body
 * @param {(face: number, subject: string) => void} reject
 * @returns {import("./dom.js").Child[][]}
 */
function faceRows(kind, body, reject) {
  if (kind === "verification") {
    return /** @type {VerifyAnswer} */ (body).result[0].face_matches.map((face, i) => [
      String(i + 1),
      similarityText(/** @type {number} */ (face.similarity)),
      ageText(face.age) ?? "",
      genderText(face.gender) ?? "",
    ]);
  }
  return /** @type {FacesAnswer} */ (body).result.map((face, i) => {
    const top = face.subjects?.[0];
    const cells = [String(i + 1), ageText(face.age) ?? "", genderText(face.gender) ?? ""];
    const known = top && top.similarity >= SAME;
    return kind === "recognition"
      ? [
          ...cells.slice(0, 1),
          known ? top.subject : "Unknown",
          top ? similarityText(top.similarity) : "",
          ...cells.slice(1),
          known
            ? h(
                "button.not-subject",
                { type: "button", onclick: () => reject(i, top.subject) },
                `Not ${top.subject}`,
              )
            : "",
        ]
      : cells;
  });
}

/** @type {Record<ServiceKind, string[]>} */
const FACE_HEADERS = {
  recognition: ["Face", "Subject", "Similarity", "Age", "Gender", ""],
  detection: ["Face", "Age", "Gender"],
  verification: ["Target face", "Similarity", "Age", "Gender"],
};

/**
 * @param {HTMLElement} main
 * @param {PageParams} params
 */
export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  const { kind } = ctx;
  const operation = OPERATIONS[kind];
  const captions = Object.fromEntries(operation.parts);
  const api = faceApi(ctx.service.apiKey);
  /** @type {Record<string, File>} */
  const chosen = {};
  /** @type {Record<string, string>} */
  const urls = {};
  /** @type {Record<string, HTMLElement>} */
  const panes = {};
  const result = h("section.result", { "aria-live": "polite" });
  const request = h("pre.code", {}, "Drop a photo to see the request.");
  const response = h("pre.code", {}, "—");
  const toggles = h(
    "div.toggles",
    {},
    ["landmarks", "pose"].map((name) =>
      h(
        "label.switch",
        {},
        h("input", {
          type: "checkbox",
          name,
          checked: true,
          /** @param {Event} event */
          onchange: (event) => {
            const { checked } = /** @type {HTMLInputElement} */ (event.target);
            result.classList.toggle(`hide-${name}`, !checked);
          },
        }),
        `Show ${name}`,
      ),
    ),
  );
  // Off: a test changes nothing, so a webhook that opens a door does not fire from here. It
  // applies to the next photo: switching it on does not send the one shown again.
  const live = h("input", { type: "checkbox", name: "live" });
  const liveSwitch = h(
    "label.switch.live-call",
    {},
    live,
    kind === "recognition"
      ? "Live call: send events, keep unknown faces, count it"
      : "Live call: count it in the statistics",
  );

  async function send() {
    if (operation.parts.some(([name]) => !chosen[name])) return;
    /** @type {[string, File][]} */
    const parts = operation.parts.map(([name]) => [name, chosen[name]]);
    const path = target(operation.path, live.checked);
    fill(request, curl(ctx.service.apiKey, path, parts));
    fill(result, h("p.loading", {}, "Looking for faces…"));
    let body;
    try {
      body = await api.run(path, Object.fromEntries(parts));
    } catch (err) {
      const { message, code } = /** @type {import("./api.js").ApiError} */ (err);
      fill(response, JSON.stringify({ message, code }, null, 2));
      fill(result, h("p.form-error", { role: "alert" }, message));
      return;
    }
    fill(response, JSON.stringify(body, null, 2));
    const photos = await Promise.all(
      Object.entries(views(kind, body)).map(async ([name, [faces, describe]]) => {
        const size = await imageSize(urls[name]).catch(() => null);
        return h(
          "div.photo-pane",
          {},
          h("h3", {}, captions[name]),
          size
            ? facePhoto(urls[name], faces, describe, size)
            : h("p.muted", {}, "This browser cannot display the photo; see the response below."),
        );
      }),
    );
    const rows = faceRows(kind, body, reject);
    fill(
      result,
      h("div.photos", {}, photos),
      h("h3", {}, `${rows.length} face(s)`),
      table(FACE_HEADERS[kind], rows),
    );
  }

  /**
   * "This is not <subject>": the face's embedding (the photo again, with the calculator
   * plugin: the page does not show embeddings) recorded as a rejection (docs/api.md,
   * "Rejections"), then the photo recognised again. Undone on the Unknown faces page.
   * @param {number} face
   * @param {string} subject
   */
  async function reject(face, subject) {
    try {
      const again = await api.run(`${operation.path}?face_plugins=calculator`, {
        file: chosen.file,
      });
      const embedding = again.result[face]?.embedding;
      if (!embedding) throw new Error("The face was not found again");
      await api.reject(subject, embedding);
      toast(`Recorded: this face is not ${subject} (undo on the Unknown faces page)`);
      await send();
    } catch (err) {
      toast(/** @type {Error} */ (err).message, "error");
    }
  }

  /**
   * @param {string} name
   * @param {File} file
   */
  function choose(name, file) {
    if (urls[name]) URL.revokeObjectURL(urls[name]);
    chosen[name] = file;
    urls[name] = URL.createObjectURL(file);
    fill(/** @type {Element} */ (panes[name].querySelector(".drop-name")), file.name);
    panes[name].classList.add("has-file");
    send();
  }

  const drops = operation.parts.map(([name, label]) => {
    const input = h("input.file-input", {
      type: "file",
      accept: "image/*",
      name,
      "aria-label": label,
      onchange: () => input.files?.[0] && choose(name, input.files[0]),
    });
    panes[name] = dropZone(label, input, (files) => choose(name, files[0]));
    return panes[name];
  });

  fill(
    main,
    serviceHeader(ctx, "test"),
    h(
      "section.card",
      {},
      h("div.drops", {}, drops),
      toggles,
      liveSwitch,
      result,
      h(
        "details.panel",
        {},
        h("summary", {}, "Request"),
        copyButton(() => request.textContent, "Copy the curl command"),
        request,
      ),
      h("details.panel", { open: true }, h("summary", {}, "Response"), response),
    ),
  );
}
