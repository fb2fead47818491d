// @ts-check
// The unknown faces of a recognition service: faces recognition matched to no one, grouped by
// person as they came (docs/api.md, "Unknown faces, grouped"); each group can be named, its
// faces then examples of that subject, or dismissed.

import { admin, faceApi } from "./api.js";
import { h, fill, confirmDialog, localTime, table, toast } from "./dom.js";
import { loadService, serviceHeader } from "./service.js";

/** @typedef {import("./api.js").UnknownCluster} UnknownCluster */
/** @typedef {import("./api.js").FaceApi} FaceApi */

/**
 * @param {HTMLElement} main
 * @param {{app: string, service: string}} params
 */
export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  if (ctx.kind !== "recognition") {
    throw new Error("Only recognition services keep unknown faces.");
  }
  const api = faceApi(ctx.service.apiKey);
  const list = h("div.clusters");
  /** @type {string[]} object URLs of the pictures shown, released when the list is redrawn */
  let pictures = [];

  const rejected = h("section.card.rejections", { "aria-label": "Rejections" });

  /** "This is not X" answers recorded from the test page or the API, each with Undo. */
  async function drawRejections() {
    const { rejections } = await api.rejections();
    const rows = rejections.map((r) => [
      r.subject,
      localTime(r.created),
      h(
        "button",
        {
          type: "button",
          dataset: { rejection: r.id },
          onclick: async () => {
            await api.undoRejection(r.id);
            toast(`${r.subject} is answered again for that face`);
            await drawRejections();
          },
        },
        "Undo",
      ),
    ]);
    fill(
      rejected,
      h("h2", {}, "Not these subjects"),
      h(
        "p.muted",
        {},
        "Faces someone said were not the subject recognition gave: recognition no longer " +
          "answers that subject for faces like them.",
      ),
      table(["Not", "Since", ""], rows, "No rejections: “Not …” on the Test page adds one."),
    );
  }

  async function draw() {
    for (const url of pictures) URL.revokeObjectURL(url);
    pictures = [];
    const { clusters } = await api.unknownClusters();
    if (!clusters.length) {
      const hint = ctx.service.keepUnknownFaces
        ? "No unknown faces yet: faces that recognition matches to no one appear here."
        : "Nothing is kept: turn on “Keep unknown faces” to collect them.";
      fill(list, h("p.empty", {}, hint));
      return;
    }
    fill(list, ...clusters.map((cluster, i) => group(cluster, i + 1)));
  }

  /**
   * One group: its faces as a strip, a name field, and Dismiss.
   * @param {UnknownCluster} cluster
   * @param {number} number
   */
  function group(cluster, number) {
    const title = `Group ${number}`;
    const name = h("input", {
      name: "subject",
      required: true,
      maxlength: 50,
      placeholder: "Who is this?",
      "aria-label": `Name of ${title}`,
    });
    /** @param {SubmitEvent} event */
    async function nameIt(event) {
      event.preventDefault();
      try {
        const named = await api.nameCluster(cluster.id, name.value.trim());
        toast(`${named.image_ids.length} face(s) added to ${named.subject}`);
        await draw();
      } catch (err) {
        toast(/** @type {Error} */ (err).message, "error");
      }
    }
    async function dismiss() {
      const sure = await confirmDialog(
        `Dismiss ${title}?`,
        `Its ${cluster.faces.length} face(s) will be forgotten.`,
        "Dismiss",
      );
      if (!sure) return;
      await api.dismissCluster(cluster.id);
      toast(`${title} dismissed`);
      await draw();
    }
    return h(
      "section.card.cluster",
      { "aria-label": title, dataset: { cluster: cluster.id } },
      h("h2", {}, title, h("span.muted", {}, ` ${cluster.faces.length} face(s)`)),
      h("div.face-strip", {}, cluster.faces.map((face) => picture(face))),
      h(
        "form.name-cluster",
        { onsubmit: nameIt },
        name,
        h("button.primary", { type: "submit" }, "Name"),
        h("button", { type: "button", onclick: dismiss }, "Dismiss"),
      ),
    );
  }

  /** @param {{id: string, seen: string, url: string}} face */
  function picture(face) {
    const seen = new Date(face.seen).toLocaleString();
    const img = h("img", { alt: `Face seen ${seen}`, title: seen, width: 96, height: 96 });
    api
      .unknownPicture(face.url)
      .then((blob) => {
        const url = URL.createObjectURL(blob);
        pictures.push(url);
        img.src = url;
      })
      .catch(() => img.replaceWith(h("span.no-image", {}, "Gone")));
    return img;
  }

  const keep = h("input", {
    type: "checkbox",
    checked: ctx.service.keepUnknownFaces,
    disabled: !ctx.app.canEditServices,
    onchange: async () => {
      const on = keep.checked;
      const question = "Every face kept so far is deleted.";
      if (!on && !(await confirmDialog("Stop keeping unknown faces?", question, "Stop"))) {
        keep.checked = true;
        return;
      }
      const changes = { keepUnknownFaces: on };
      ctx.service = await admin.changeSettings(ctx.app.id, ctx.service.id, changes);
      toast(on ? "Unknown faces are kept" : "Unknown faces are no longer kept");
      await draw();
    },
  });
  fill(
    main,
    serviceHeader(ctx, "unknown"),
    h(
      "section.card.unknown-settings",
      {},
      h("label.switch", {}, keep, " Keep unknown faces"),
      h(
        "p.muted",
        {},
        "Faces that recognition matches to no one are kept (a small picture each, for at most " +
          "the server's limits), grouped by person. Name a group to add its faces to a " +
          "subject; dismiss it to forget them.",
      ),
    ),
    list,
    rejected,
  );
  await Promise.all([draw(), drawRejections()]);
}
