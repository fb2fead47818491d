// The test page of a service: drop a photo (two for verification), see the faces it finds.

import { faceApi } from "./api.js";
import { h, fill, copyButton, table } from "./dom.js";
import { ageText, facePhoto, genderText, imageSize, similarityText } from "./overlay.js";
import { loadService, serviceHeader } from "./service.js";

// CompreFace's test page asks for the same plugins.
const PLUGINS = ["landmarks", "gender", "age", "pose"];
// Similarities at or above this mean "same person" (the calibrated boundary, API.md §7).
const SAME = 0.5;

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

function common(face) {
  return [
    ["Face probability", face.box ? similarityText(face.box.probability) : null],
    ["Age", ageText(face.age)],
    ["Gender", genderText(face.gender)],
    [
      "Pose",
      face.pose
        ? `yaw ${face.pose.yaw.toFixed(0)}°, pitch ${face.pose.pitch.toFixed(0)}°, roll ${face.pose.roll.toFixed(0)}°`
        : null,
    ],
  ].filter(([, value]) => value !== null);
}

function describeRecognized(face) {
  const [top, ...others] = face.subjects || [];
  const known = top && top.similarity >= SAME;
  // Below the boundary the closest subject is probably someone else: say so on the box.
  const label = known ? `${top.subject} ${similarityText(top.similarity)}` : "unknown";
  const details = top
    ? [
        [known ? "Subject" : "Closest subject", top.subject],
        ["Similarity", similarityText(top.similarity)],
      ]
    : [["Subject", "no example in the collection"]];
  for (const other of others)
    details.push(["Also", `${other.subject} ${similarityText(other.similarity)}`]);
  return { label, tone: known ? "match" : "weak", details: [...details, ...common(face)] };
}

function describeDetected(face) {
  const summary = [ageText(face.age), genderText(face.gender)].filter(Boolean).join(" · ");
  return {
    label: summary || `face ${similarityText(face.box.probability)}`,
    tone: "match",
    details: common(face),
  };
}

function describeMatch(face) {
  return {
    label: `similarity ${similarityText(face.similarity)}`,
    tone: face.similarity >= SAME ? "match" : "weak",
    details: [["Similarity", similarityText(face.similarity)], ...common(face)],
  };
}

function describeSource(face) {
  return { label: "source", tone: "source", details: common(face) };
}

/** The photos with boxes, per part, for the answer of one operation. */
function views(kind, body) {
  if (kind === "verification") {
    const [result] = body.result;
    return {
      source_image: [[result.source_image_face], describeSource],
      target_image: [result.face_matches, describeMatch],
    };
  }
  return { file: [body.result, kind === "recognition" ? describeRecognized : describeDetected] };
}

function curl(key, path, parts) {
  const url = `${window.location.origin}/api/v1${path}?face_plugins=${PLUGINS.join(",")}`;
  const files = parts.map(([name, file]) => ` \\\n  -F "${name}=@${file.name}"`).join("");
  return `curl -X POST "${url}" \\\n  -H "x-api-key: ${key}"${files}`;
}

function faceRows(kind, body) {
  if (kind === "verification") {
    return body.result[0].face_matches.map((face, i) => [
      String(i + 1),
      similarityText(face.similarity),
      ageText(face.age) ?? "",
      genderText(face.gender) ?? "",
    ]);
  }
  return body.result.map((face, i) => {
    const top = face.subjects?.[0];
    const cells = [String(i + 1), ageText(face.age) ?? "", genderText(face.gender) ?? ""];
    return kind === "recognition"
      ? [
          ...cells.slice(0, 1),
          top?.subject ?? "unknown",
          top ? similarityText(top.similarity) : "",
          ...cells.slice(1),
        ]
      : cells;
  });
}

const FACE_HEADERS = {
  recognition: ["Face", "Subject", "Similarity", "Age", "Gender"],
  detection: ["Face", "Age", "Gender"],
  verification: ["Target face", "Similarity", "Age", "Gender"],
};

export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  const { kind } = ctx;
  const operation = OPERATIONS[kind];
  const api = faceApi(ctx.service.apiKey);
  const chosen = {};
  const urls = {};
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
          onchange: (event) => result.classList.toggle(`hide-${name}`, !event.target.checked),
        }),
        `Show ${name}`,
      ),
    ),
  );

  async function send() {
    if (operation.parts.some(([name]) => !chosen[name])) return;
    const parts = operation.parts.map(([name]) => [name, chosen[name]]);
    fill(request, curl(ctx.service.apiKey, operation.path, parts));
    fill(result, h("p.loading", {}, "Looking for faces…"));
    let body;
    try {
      body = await api.run(
        `${operation.path}?face_plugins=${PLUGINS.join(",")}`,
        Object.fromEntries(parts),
      );
    } catch (err) {
      fill(response, JSON.stringify({ message: err.message, code: err.code }, null, 2));
      fill(result, h("p.form-error", { role: "alert" }, err.message));
      return;
    }
    fill(response, JSON.stringify(body, null, 2));
    const photos = await Promise.all(
      Object.entries(views(kind, body)).map(async ([name, [faces, describe]]) => {
        const size = await imageSize(urls[name]).catch(() => null);
        const caption = operation.parts.find(([part]) => part === name)[1];
        return h(
          "div.photo-pane",
          {},
          h("h3", {}, caption),
          size
            ? facePhoto(urls[name], faces, describe, size)
            : h("p.muted", {}, "This browser cannot display the photo; see the response below."),
        );
      }),
    );
    const rows = faceRows(kind, body);
    fill(
      result,
      h("div.photos", {}, photos),
      h("h3", {}, `${rows.length} face(s)`),
      table(FACE_HEADERS[kind], rows),
    );
  }

  function choose(name, file) {
    if (urls[name]) URL.revokeObjectURL(urls[name]);
    chosen[name] = file;
    urls[name] = URL.createObjectURL(file);
    fill(panes[name].querySelector(".drop-name"), file.name);
    panes[name].classList.add("has-file");
    send();
  }

  const drops = operation.parts.map(([name, label]) => {
    const input = h("input.file-input", {
      type: "file",
      accept: "image/*",
      name,
      "aria-label": label,
      onchange: (event) => event.target.files[0] && choose(name, event.target.files[0]),
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

/** A drop target that also opens the file picker; calls `onFiles(FileList)`. */
export function dropZone(label, input, onFiles) {
  const zone = h(
    "label.drop",
    {
      ondragover: (event) => {
        event.preventDefault();
        zone.classList.add("over");
      },
      ondragleave: () => zone.classList.remove("over"),
      ondrop: (event) => {
        event.preventDefault();
        zone.classList.remove("over");
        if (event.dataTransfer.files.length) onFiles(event.dataTransfer.files);
      },
    },
    input,
    h("strong", {}, label),
    h("span.muted", {}, "Drop here or click to choose"),
    h("span.drop-name"),
  );
  return zone;
}
