// The face collection manager of a recognition service: subjects, their photos, uploads.

import { faceApi } from "./api.js";
import { h, fill, confirmDialog, field, formDialog, searchBox, toast } from "./dom.js";
import { guardLeave } from "./session.js";
import { loadService, serviceHeader } from "./service.js";
import { dropZone } from "./tester.js";
import { uploadAll } from "./upload.js";

const PAGE_SIZE = 15; // as CompreFace's collection page

async function maxFileBytes() {
  try {
    const config = await (await fetch("/api/v1/config")).json();
    return config.clientMaxFileSize;
  } catch {
    return 0;
  }
}

export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  if (ctx.kind !== "recognition") {
    throw new Error("Only recognition services keep a face collection.");
  }
  const api = faceApi(ctx.service.apiKey);
  const maxBytes = await maxFileBytes();
  const state = {
    subjects: [],
    filter: "",
    subject: null,
    page: 0,
    selecting: false,
    selected: new Set(),
    uploading: 0,
    shown: null,
  };

  const subjectList = h("ul.subject-list", { "aria-label": "Subjects" });
  const detail = h("section.card.examples");
  guardLeave(() => (state.uploading ? "Photos are still uploading." : null));

  async function loadSubjects(select = state.subject) {
    state.subjects = (await api.subjects()).subjects.sort((a, b) => a.localeCompare(b));
    state.subject = state.subjects.includes(select) ? select : (state.subjects[0] ?? null);
    drawSubjects();
    await drawDetail();
  }

  function drawSubjects() {
    const shown = state.subjects.filter((name) => name.toLowerCase().includes(state.filter));
    fill(
      subjectList,
      shown.length
        ? shown.map((name) =>
            h(
              "li",
              {},
              h(
                "button.subject",
                {
                  type: "button",
                  class: name === state.subject ? "active" : null,
                  "aria-current": name === state.subject ? "true" : null,
                  onclick: () => {
                    state.subject = name;
                    state.page = 0;
                    state.selected.clear();
                    drawSubjects();
                    drawDetail();
                  },
                },
                name,
              ),
            ),
          )
        : h("li.empty", {}, state.subjects.length ? "No subject matches." : "No subjects yet."),
    );
  }

  async function addSubject() {
    const name = await formDialog({
      title: "Add subject",
      fields: field("Name", { name: "name", maxlength: 50, required: true, autocomplete: "off" }),
      submit: "Add",
      onSubmit: async (data) => (await api.createSubject(String(data.get("name")).trim())).subject,
    });
    if (name) await loadSubjects(name);
  }

  async function renameSubject() {
    const old = state.subject;
    const name = await formDialog({
      title: `Rename ${old}`,
      fields: field("New name", { name: "name", value: old, maxlength: 50, required: true }),
      submit: "Rename",
      onSubmit: async (data) => {
        const wanted = String(data.get("name")).trim();
        const existing = state.subjects.find(
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
        await api.renameSubject(old, wanted);
        return existing ?? wanted;
      },
    });
    if (name) await loadSubjects(name);
  }

  async function deleteSubject() {
    const name = state.subject;
    if (!(await confirmDialog(`Delete ${name}?`, `${name} and all of its photos will be removed.`)))
      return;
    await api.deleteSubject(name);
    toast(`Deleted ${name}`);
    await loadSubjects(null);
  }

  async function deleteSelected() {
    const ids = [...state.selected];
    if (
      !(await confirmDialog(
        `Delete ${ids.length} photo(s)?`,
        "The selected examples will be removed from the collection.",
      ))
    )
      return;
    const deleted = await api.deleteFaces(ids);
    toast(`Deleted ${deleted.length} photo(s)`);
    state.selected.clear();
    state.selecting = false;
    await drawDetail();
  }

  async function upload(files) {
    if (!state.subject) return toast("Add or choose a subject first.", "error");
    const subject = state.subject;
    state.uploading += 1;
    try {
      const { added, failed } = await uploadAll(files, uploads, {
        send: (file, onProgress) => api.addFace(subject, file, onProgress),
        maxBytes,
        onAdded: () => subject === state.subject && drawThumbs(),
      });
      toast(
        `${added} photo(s) added to ${subject}${failed ? `, ${failed} failed` : ""}`,
        failed ? "error" : "info",
      );
    } finally {
      state.uploading -= 1;
    }
  }

  const thumbs = h("div.thumbs-area");
  const uploads = h("ul.uploads", { "aria-label": "Uploads" });

  async function drawThumbs() {
    if (!state.subject) return fill(thumbs);
    const page = await api.faces(state.subject, state.page, PAGE_SIZE);
    if (state.page > 0 && page.faces.length === 0) {
      state.page = Math.max(0, page.total_pages - 1);
      return drawThumbs();
    }
    const toolbar = h(
      "div.toolbar",
      {},
      h("span.muted", { "data-count": page.total_elements }, `${page.total_elements} photo(s)`),
      h("span.spacer"),
      state.selecting
        ? [
            h(
              "button.danger",
              { type: "button", disabled: !state.selected.size, onclick: deleteSelected },
              `Delete selected (${state.selected.size})`,
            ),
            h(
              "button",
              {
                type: "button",
                onclick: () => {
                  state.selecting = false;
                  state.selected.clear();
                  drawThumbs();
                },
              },
              "Cancel",
            ),
          ]
        : h(
            "button",
            {
              type: "button",
              disabled: !page.total_elements,
              onclick: () => {
                state.selecting = true;
                drawThumbs();
              },
            },
            "Select",
          ),
    );
    const grid = h(
      "ul.thumbs",
      { class: state.selecting ? "selecting" : null },
      page.faces.map((face) => {
        const checked = state.selected.has(face.image_id);
        return h(
          "li.thumb",
          { class: checked ? "checked" : null },
          h("img", {
            src: api.imageUrl(face.image_id),
            alt: `Photo of ${face.subject}`,
            loading: "lazy",
            // With save_images_to_db=false the server keeps no photo, only the embedding.
            onerror: (event) => event.target.replaceWith(h("span.no-image", {}, "No image stored")),
          }),
          state.selecting
            ? h("input", {
                type: "checkbox",
                checked,
                "aria-label": `Select photo ${face.image_id}`,
                onchange: (event) => {
                  if (event.target.checked) state.selected.add(face.image_id);
                  else state.selected.delete(face.image_id);
                  drawThumbs();
                },
              })
            : null,
        );
      }),
    );
    const pager =
      page.total_pages > 1
        ? h(
            "nav.pager",
            { "aria-label": "Pages" },
            h(
              "button",
              {
                type: "button",
                disabled: state.page === 0,
                onclick: () => {
                  state.page -= 1;
                  drawThumbs();
                },
              },
              "‹ Previous",
            ),
            h("span", {}, `Page ${state.page + 1} of ${page.total_pages}`),
            h(
              "button",
              {
                type: "button",
                disabled: state.page + 1 >= page.total_pages,
                onclick: () => {
                  state.page += 1;
                  drawThumbs();
                },
              },
              "Next ›",
            ),
          )
        : null;
    fill(
      thumbs,
      toolbar,
      page.faces.length ? grid : h("p.empty", {}, "No photos yet: drop some above."),
      pager,
    );
  }

  async function drawDetail() {
    if (state.subject !== state.shown) {
      // Finished rows belong to the subject on screen before; rows still running stay.
      for (const row of uploads.querySelectorAll(".upload.ok, .upload.failed")) row.remove();
      fill(thumbs); // not the previous subject's photos while this one's load
      state.shown = state.subject;
    }
    if (!state.subject) {
      fill(
        detail,
        h(
          "div.empty-state",
          {},
          h("h2", {}, "No subject selected"),
          h("p.muted", {}, "Add a subject, then drop photos of that person."),
          h("button.primary", { type: "button", onclick: addSubject }, "Add subject"),
        ),
      );
      return;
    }
    const input = h("input.file-input", {
      type: "file",
      accept: "image/*",
      multiple: true,
      name: "photos",
      "aria-label": `Photos of ${state.subject}`,
      onchange: (event) => {
        upload([...event.target.files]);
        event.target.value = "";
      },
    });
    fill(
      detail,
      h(
        "div.title-row",
        {},
        h("h2", {}, state.subject),
        h(
          "div.actions",
          {},
          h("button", { type: "button", onclick: renameSubject }, "Rename"),
          h("button.danger", { type: "button", onclick: deleteSubject }, "Delete"),
        ),
      ),
      dropZone(`Add photos of ${state.subject}`, input, (files) => upload([...files])),
      uploads,
      thumbs,
    );
    await drawThumbs();
  }

  fill(
    main,
    serviceHeader(ctx, "collection"),
    h(
      "div.collection",
      {},
      h(
        "aside.card.subjects",
        {},
        h(
          "div.title-row",
          {},
          h("h2", {}, "Subjects"),
          h("button.primary", { type: "button", onclick: addSubject }, "Add subject"),
        ),
        searchBox("Search subjects", (text) => {
          state.filter = text;
          drawSubjects();
        }),
        subjectList,
      ),
      detail,
    ),
  );
  await loadSubjects();
}
