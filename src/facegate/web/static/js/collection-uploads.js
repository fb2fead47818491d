// @ts-check
// The upload panel of the face collection: a drop zone for the subject on screen, and a row
// per photo sent, which stays while the photo uploads even if another subject is shown.

import { h, toast } from "./dom.js";
import { dropZone } from "./dropzone.js";
import { uploadAll } from "./upload.js";

/** @typedef {import("./api.js").FaceApi} FaceApi */

export class UploadPanel {
  /**
   * @param {FaceApi} api
   * @param {number} maxBytes the server's file size limit, 0 when unknown
   * @param {(subject: string) => void} onAdded after each photo of `subject` is added
   */
  constructor(api, maxBytes, onAdded) {
    this.api = api;
    this.maxBytes = maxBytes;
    this.onAdded = onAdded;
    this.list = h("ul.uploads", { "aria-label": "Uploads" });
    this.running = 0;
    /** @type {string | null} */
    this.subject = null;
  }

  /** Whether photos are still on their way, which leaving the page would cut short. */
  get busy() {
    return this.running > 0;
  }

  /**
   * Follow the subject on screen; the finished rows of the one before go, running rows stay.
   * @param {string | null} subject
   */
  switchTo(subject) {
    if (subject === this.subject) return;
    for (const row of Array.from(this.list.querySelectorAll(".upload.ok, .upload.failed")))
      row.remove();
    this.subject = subject;
  }

  /**
   * The drop zone for `subject` and the upload rows.
   * @param {string} subject
   * @returns {HTMLElement[]}
   */
  panel(subject) {
    const input = h("input.file-input", {
      type: "file",
      accept: "image/*",
      multiple: true,
      name: "photos",
      "aria-label": `Photos of ${subject}`,
      onchange: () => {
        this.upload(subject, Array.from(input.files ?? []));
        input.value = "";
      },
    });
    const zone = dropZone(`Add photos of ${subject}`, input, (files) =>
      this.upload(subject, Array.from(files)),
    );
    return [zone, this.list];
  }

  /**
   * @param {string} subject
   * @param {File[]} files
   */
  async upload(subject, files) {
    this.running += 1;
    try {
      const { added, failed } = await uploadAll(files, this.list, {
        send: (file, onProgress) => this.api.addFace(subject, file, onProgress),
        maxBytes: this.maxBytes,
        onAdded: () => this.onAdded(subject),
      });
      toast(
        `${added} photo(s) added to ${subject}${failed ? `, ${failed} failed` : ""}`,
        failed ? "error" : "info",
      );
    } finally {
      this.running -= 1;
    }
  }
}
