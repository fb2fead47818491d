// @ts-check
// The face collection manager of a recognition service: the subject list, the chosen
// subject's photos and the upload panel, put together.

import { faceApi, uploadLimits } from "./api.js";
import { h, fill } from "./dom.js";
import { guardLeave } from "./session.js";
import { loadService, serviceHeader } from "./service.js";
import { ExampleGrid } from "./collection-examples.js";
import { SubjectList } from "./collection-subjects.js";
import { UploadPanel } from "./collection-uploads.js";

/** The server's file size limit; 0 (no check here, the server still checks) when unknown. */
async function maxFileBytes() {
  try {
    return (await uploadLimits()).clientMaxFileSize;
  } catch {
    return 0;
  }
}

/**
 * @param {HTMLElement} main
 * @param {{app: string, service: string}} params
 */
export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  if (ctx.kind !== "recognition") {
    throw new Error("Only recognition services keep a face collection.");
  }
  const api = faceApi(ctx.service.apiKey);
  const detail = h("section.card.examples");
  const examples = new ExampleGrid(api);
  const subjects = new SubjectList(api, {
    onShow: showDetail,
    onPick: (subject) => {
      examples.rewind();
      showDetail(subject);
    },
  });
  const uploads = new UploadPanel(api, await maxFileBytes(), (subject) => {
    if (subject === subjects.subject) examples.draw();
  });
  guardLeave(() => (uploads.busy ? "Photos are still uploading." : null));

  /** @param {string | null} subject */
  async function showDetail(subject) {
    examples.switchTo(subject);
    uploads.switchTo(subject);
    if (!subject) {
      fill(
        detail,
        h(
          "div.empty-state",
          {},
          h("h2", {}, "No subject selected"),
          h("p.muted", {}, "Add a subject, then drop photos of that person."),
          h("button.primary", { type: "button", onclick: () => subjects.add() }, "Add subject"),
        ),
      );
      return;
    }
    fill(
      detail,
      h(
        "div.title-row",
        {},
        h("h2", {}, subject),
        h(
          "div.actions",
          {},
          h("button", { type: "button", onclick: () => subjects.rename() }, "Rename"),
          h("button.danger", { type: "button", onclick: () => subjects.remove() }, "Delete"),
        ),
      ),
      uploads.panel(subject),
      examples.el,
    );
    await examples.draw();
  }

  fill(main, serviceHeader(ctx, "collection"), h("div.collection", {}, subjects.el, detail));
  await subjects.load();
}
