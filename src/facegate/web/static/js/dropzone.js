// @ts-check
// A drop target for photos, shared by the test page and the face collection.

import { h } from "./dom.js";

/**
 * A drop target that also opens the file picker of `input`; calls `onFiles(FileList)`.
 * @param {string} label
 * @param {HTMLInputElement} input
 * @param {(files: FileList) => void} onFiles
 * @returns {HTMLLabelElement}
 */
export function dropZone(label, input, onFiles) {
  const zone = h(
    "label.drop",
    {
      /** @param {DragEvent} event */
      ondragover: (event) => {
        event.preventDefault();
        zone.classList.add("over");
      },
      ondragleave: () => zone.classList.remove("over"),
      /** @param {DragEvent} event */
      ondrop: (event) => {
        event.preventDefault();
        zone.classList.remove("over");
        const files = event.dataTransfer?.files;
        if (files?.length) onFiles(files);
      },
    },
    input,
    h("strong", {}, label),
    h("span.muted", {}, "Drop here or click to choose"),
    h("span.drop-name"),
  );
  return zone;
}
