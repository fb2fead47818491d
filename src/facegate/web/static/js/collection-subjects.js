// @ts-check
// The subject list of the face collection: search, choice, and adding, renaming, deleting.

import { h, fill, confirmDialog, field, formDialog, searchBox, toast } from "./dom.js";

/** @typedef {import("./api.js").FaceApi} FaceApi */

export class SubjectList {
  /**
   * @param {FaceApi} api
   * @param {object} handlers
   * @param {(subject: string | null) => Promise<void>} handlers.onShow after the chosen
   *   subject may have changed (a load, an edit): show it
   * @param {(subject: string) => void} handlers.onPick after the user clicked a subject
   */
  constructor(api, { onShow, onPick }) {
    this.api = api;
    this.onShow = onShow;
    this.onPick = onPick;
    /** @type {string[]} */
    this.names = [];
    this.filter = "";
    /** @type {string | null} */
    this.subject = null;
    this.list = h("ul.subject-list", { "aria-label": "Subjects" });
    this.el = h(
      "aside.card.subjects",
      {},
      h(
        "div.title-row",
        {},
        h("h2", {}, "Subjects"),
        h("button.primary", { type: "button", onclick: () => this.add() }, "Add subject"),
      ),
      searchBox("Search subjects", (text) => {
        this.filter = text;
        this.draw();
      }),
      this.list,
    );
  }

  /**
   * Re-read the subjects and choose `select`, or the first when it is gone.
   * @param {string | null} [select]
   */
  async load(select = this.subject) {
    this.names = (await this.api.subjects()).subjects.sort((a, b) => a.localeCompare(b));
    this.subject =
      select !== null && this.names.includes(select) ? select : (this.names[0] ?? null);
    this.draw();
    await this.onShow(this.subject);
  }

  draw() {
    const shown = this.names.filter((name) => name.toLowerCase().includes(this.filter));
    fill(
      this.list,
      shown.length
        ? shown.map((name) =>
            h(
              "li",
              {},
              h(
                "button.subject",
                {
                  type: "button",
                  class: name === this.subject ? "active" : null,
                  "aria-current": name === this.subject ? "true" : null,
                  onclick: () => {
                    this.subject = name;
                    this.draw();
                    this.onPick(name);
                  },
                },
                name,
              ),
            ),
          )
        : h("li.empty", {}, this.names.length ? "No subject matches." : "No subjects yet."),
    );
  }

  async add() {
    const name = await formDialog({
      title: "Add subject",
      fields: field("Name", { name: "name", maxlength: 50, required: true, autocomplete: "off" }),
      submit: "Add",
      onSubmit: async (data) =>
        (await this.api.createSubject(String(data.get("name")).trim())).subject,
    });
    if (name) await this.load(name);
  }

  /** Rename the chosen subject; a name another subject has joins the two, once confirmed. */
  async rename() {
    const old = /** @type {string} */ (this.subject);
    const name = await formDialog({
      title: `Rename ${old}`,
      fields: field("New name", { name: "name", value: old, maxlength: 50, required: true }),
      submit: "Rename",
      onSubmit: async (data) => {
        const wanted = String(data.get("name")).trim();
        const existing = this.names.find(
          (s) => s !== old && s.toLowerCase() === wanted.toLowerCase(),
        );
        if (existing) {
          const merge = await confirmDialog(
            "Join subjects?",
            `${existing} already exists. Move every photo of ${old} to ${existing} and remove ${old}?`,
            "Join",
          );
          if (!merge) return undefined;
        }
        await this.api.renameSubject(old, wanted);
        return existing ?? wanted;
      },
    });
    if (name) await this.load(name);
  }

  async remove() {
    const name = /** @type {string} */ (this.subject);
    if (!(await confirmDialog(`Delete ${name}?`, `${name} and all of its photos will be removed.`)))
      return;
    await this.api.deleteSubject(name);
    toast(`Deleted ${name}`);
    await this.load(null);
  }
}
