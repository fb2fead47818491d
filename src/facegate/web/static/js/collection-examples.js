// @ts-check
// The photos of one subject in the face collection: pages of thumbnails, selecting, deleting.

import { h, fill, confirmDialog, toast } from "./dom.js";

/** @typedef {import("./api.js").FaceApi} FaceApi */
/** @typedef {import("./api.js").FacePage} FacePage */

const PAGE_SIZE = 15; // as CompreFace's collection page

export class ExampleGrid {
  /** @param {FaceApi} api */
  constructor(api) {
    this.api = api;
    this.el = h("div.thumbs-area");
    /** @type {string | null} */
    this.subject = null;
    this.page = 0;
    this.selecting = false;
    /** @type {Set<string>} */
    this.selected = new Set();
  }

  /**
   * Hold the photos of `subject` from now on; another subject's photos go at once, not
   * after this one's load.
   * @param {string | null} subject
   */
  switchTo(subject) {
    if (subject !== this.subject) fill(this.el);
    this.subject = subject;
  }

  /** Back to the first page, nothing selected (a subject was picked). */
  rewind() {
    this.page = 0;
    this.selected.clear();
  }

  /** @returns {Promise<void>} */
  async draw() {
    if (!this.subject) {
      fill(this.el);
      return;
    }
    const page = await this.api.faces(this.subject, this.page, PAGE_SIZE);
    if (this.page > 0 && page.faces.length === 0) {
      this.page = Math.max(0, page.total_pages - 1);
      return this.draw();
    }
    fill(
      this.el,
      this.toolbar(page),
      page.faces.length ? this.grid(page) : h("p.empty", {}, "No photos yet: drop some above."),
      page.total_pages > 1 ? this.pager(page) : null,
    );
  }

  /** @param {FacePage} page */
  toolbar(page) {
    return h(
      "div.toolbar",
      {},
      h("span.muted", { "data-count": page.total_elements }, `${page.total_elements} photo(s)`),
      h("span.spacer"),
      this.selecting
        ? [
            h(
              "button.danger",
              {
                type: "button",
                disabled: !this.selected.size,
                onclick: () => this.deleteSelected(),
              },
              `Delete selected (${this.selected.size})`,
            ),
            h("button", { type: "button", onclick: () => this.select(false) }, "Cancel"),
          ]
        : h(
            "button",
            {
              type: "button",
              disabled: !page.total_elements,
              onclick: () => this.select(true),
            },
            "Select",
          ),
    );
  }

  /** @param {FacePage} page */
  grid(page) {
    return h(
      "ul.thumbs",
      { class: this.selecting ? "selecting" : null },
      page.faces.map((face) => {
        const checked = this.selected.has(face.image_id);
        const img = h("img", {
          src: this.api.imageUrl(face.image_id),
          alt: `Photo of ${face.subject}`,
          loading: "lazy",
          // With save_images_to_db=false the server keeps no photo, only the embedding.
          onerror: () => img.replaceWith(h("span.no-image", {}, "No image stored")),
        });
        // Set aside by the gallery check: kept, but search leaves it out (docs/gallery-check.md).
        const marks = [checked ? "checked" : "", face.set_aside ? "aside" : ""];
        return h(
          "li.thumb",
          { class: marks.join(" ").trim() || null },
          img,
          face.set_aside
            ? h("span.aside-mark", { title: "Search leaves it out" }, "Set aside")
            : null,
          this.selecting
            ? h("input", {
                type: "checkbox",
                checked,
                "aria-label": `Select photo ${face.image_id}`,
                /** @param {Event} event */
                onchange: (event) => {
                  const box = /** @type {HTMLInputElement} */ (event.target);
                  if (box.checked) this.selected.add(face.image_id);
                  else this.selected.delete(face.image_id);
                  this.draw();
                },
              })
            : null,
        );
      }),
    );
  }

  /** @param {FacePage} page */
  pager(page) {
    /** @param {number} step */
    const turn = (step) => () => {
      this.page += step;
      this.draw();
    };
    return h(
      "nav.pager",
      { "aria-label": "Pages" },
      h("button", { type: "button", disabled: this.page === 0, onclick: turn(-1) }, "‹ Previous"),
      h("span", {}, `Page ${this.page + 1} of ${page.total_pages}`),
      h(
        "button",
        { type: "button", disabled: this.page + 1 >= page.total_pages, onclick: turn(1) },
        "Next ›",
      ),
    );
  }

  /** @param {boolean} on */
  select(on) {
    this.selecting = on;
    if (!on) this.selected.clear();
    this.draw();
  }

  async deleteSelected() {
    const ids = [...this.selected];
    if (
      !(await confirmDialog(
        `Delete ${ids.length} photo(s)?`,
        "The selected examples will be removed from the collection.",
      ))
    )
      return;
    const deleted = await this.api.deleteFaces(ids);
    toast(`Deleted ${deleted.length} photo(s)`);
    this.selected.clear();
    this.selecting = false;
    await this.draw();
  }
}
