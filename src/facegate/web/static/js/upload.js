// @ts-check
// Uploading many photos at once: a small queue, one row per file with progress and outcome.

import { h, formatBytes } from "./dom.js";

// Two at a time keeps the server busy without queueing everything behind one client.
const PARALLEL = 2;

/**
 * Upload `files` with `send(file, onProgress)`; rows go into `list`. Resolves when all are
 * done with {added, failed}. `onAdded` runs after each success (to refresh thumbnails).
 * @param {File[]} files
 * @param {HTMLElement} list
 * @param {object} options
 * @param {(file: File, onProgress: (fraction: number) => void) => Promise<unknown>} options.send
 * @param {number} options.maxBytes 0 for no limit
 * @param {() => void} [options.onAdded]
 * @returns {Promise<{added: number, failed: number}>}
 */
export async function uploadAll(files, list, { send, maxBytes, onAdded }) {
  const jobs = [...files].map((file) => ({ file, row: uploadRow(file) }));
  list.prepend(...jobs.map((job) => job.row.el));
  let added = 0;
  let failed = 0;
  const next = async () => {
    for (let job = jobs.shift(); job; job = jobs.shift()) {
      const { file, row } = job;
      if (maxBytes && file.size > maxBytes) {
        row.fail(`Larger than the ${formatBytes(maxBytes)} limit`);
        failed += 1;
        continue;
      }
      row.start();
      try {
        await send(file, row.progress);
        row.done();
        added += 1;
        onAdded?.();
      } catch (err) {
        row.fail(/** @type {Error} */ (err).message);
        failed += 1;
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, next));
  return { added, failed };
}

/** @param {File} file */
function uploadRow(file) {
  const bar = h("progress", { max: 1, value: 0, "aria-label": `Upload of ${file.name}` });
  const status = h("span.upload-status", {}, "waiting");
  const el = h(
    "li.upload.waiting",
    { dataset: { file: file.name } },
    h("span.upload-name", { title: file.name }, file.name),
    h("span.muted", {}, formatBytes(file.size)),
    bar,
    status,
  );
  /**
   * @param {"sending" | "ok" | "failed"} state
   * @param {string} text
   */
  const set = (state, text) => {
    el.className = `upload ${state}`;
    status.textContent = text;
  };
  return {
    el,
    start: () => set("sending", "uploading"),
    /** @param {number} fraction */
    progress: (fraction) => {
      bar.value = fraction;
      // The upload is over; the server is now finding and embedding the face.
      if (fraction >= 1) set("sending", "finding the face…");
    },
    done: () => {
      bar.value = 1;
      set("ok", "added");
    },
    /** @param {string} message */
    fail: (message) => set("failed", message),
  };
}
