// @ts-check
// The gallery check of a recognition service (docs/gallery-check.md): examples far from their
// subject's others, subjects that come close to each other, duplicates, kept photos the quality
// gate would refuse, the strangers that come closest, and a threshold from the service's own
// pairs. Any example listed can be set aside (search leaves it out) and restored.

import { admin, faceApi } from "./api.js";
import { h, fill, table, toast } from "./dom.js";
import { similarityText } from "./overlay.js";
import { loadService, serviceHeader } from "./service.js";

/** @typedef {import("./api.js").GalleryCheck} GalleryCheck */

/**
 * @param {HTMLElement} main
 * @param {{app: string, service: string}} params
 */
export async function render(main, params) {
  const ctx = await loadService(params.app, params.service);
  if (ctx.kind !== "recognition") {
    throw new Error("Only recognition services have a gallery to check.");
  }
  const api = faceApi(ctx.service.apiKey);
  const findings = h("div.gallery-check", { "aria-live": "polite" });
  const quality = h("input", { type: "checkbox", name: "quality" });

  /**
   * A button that sets the example aside, or restores it when `aside` is false.
   * @param {string} id
   * @param {boolean} [aside]
   */
  function asideButton(id, aside = true) {
    return h(
      "button",
      {
        type: "button",
        dataset: { example: id },
        onclick: async () => {
          await api.setAside(id, aside);
          toast(aside ? "Set aside: search leaves it out" : "Restored: search finds it again");
          await draw();
        },
      },
      aside ? "Set aside" : "Restore",
    );
  }

  /** @param {string} id */
  function photo(id) {
    return h("img.example-thumb", {
      src: api.imageUrl(id),
      alt: `Example ${id}`,
      width: 64,
      height: 64,
      loading: "lazy",
    });
  }

  /** @param {import("./api.js").CheckedPair} pair */
  function pairCells(pair) {
    return [
      h("span", {}, photo(pair.image_ids[0]), " ", pair.subjects[0]),
      h("span", {}, photo(pair.image_ids[1]), " ", pair.subjects[1]),
      similarityText(pair.similarity),
      h(
        "span.actions",
        {},
        asideButton(pair.image_ids[0]),
        " ",
        asideButton(pair.image_ids[1]),
      ),
    ];
  }

  /** @param {GalleryCheck} report */
  function thresholdCard(report) {
    const t = report.threshold;
    const rate = (/** @type {number | null} */ r) => (r === null ? "—" : `${(r * 100).toFixed(2)} %`);
    const rows = [
      ["Threshold in force", similarityText(t.current)],
      ["Its false accepts among the service's pairs", rate(t.current_false_accept_rate)],
      ["Pairs of different subjects' examples", String(t.pairs)],
      [
        "Suggested threshold",
        t.suggested === null
          ? "— (too few pairs)"
          : `${similarityText(t.suggested)} (false accepts ${rate(t.suggested_false_accept_rate)}, ` +
            `refuses ${rate(t.suggested_false_reject_rate)} of same-subject pairs)`,
      ],
    ];
    return h(
      "section.card",
      { "aria-label": "Threshold" },
      h("h2", {}, "Threshold"),
      table(["", ""], rows),
      report.notes.map((note) => h("p.muted", {}, note)),
    );
  }

  async function draw() {
    fill(findings, h("p.loading", {}, "Checking the gallery…"));
    const report = await api.galleryCheck(quality.checked);
    /**
     * @param {string} title
     * @param {string} hint
     * @param {string[]} headers
     * @param {import("./dom.js").Child[][]} rows
     */
    const section = (title, hint, headers, rows) =>
      h(
        "section.card",
        { "aria-label": title },
        h("h2", {}, title, h("span.muted", {}, ` ${rows.length}`)),
        h("p.muted", {}, hint),
        table(headers, rows, "None found."),
      );
    fill(
      findings,
      h(
        "p",
        {},
        `${report.examples} example(s) of ${report.subjects} subject(s) searched, ` +
          `model ${report.model}.`,
      ),
      section(
        "Outliers",
        "Examples the model calls another person than most of their subject's other examples.",
        ["Example", "Subject", "Median similarity", ""],
        report.outliers.map((o) => [
          photo(o.image_id),
          o.subject,
          similarityText(o.similarity),
          asideButton(o.image_id),
        ]),
      ),
      section(
        "Confusable subjects",
        "Two subjects whose closest examples the model would take for one person.",
        ["Example", "Example", "Similarity", ""],
        report.confusable.map(pairCells),
      ),
      section(
        "Duplicates",
        "The same face stored twice (under two names, it is wrong for one of them).",
        ["Example", "Example", "Similarity", ""],
        report.duplicates.map(pairCells),
      ),
      report.quality === null
        ? h("p.muted", {}, "Tick “Check photo quality” to run the quality gate on kept photos.")
        : section(
            "Refused by the quality gate",
            "Kept photos the service's enrolment limits (or the defaults) would refuse today.",
            ["Example", "Subject", "Why", ""],
            report.quality.map((r) => [
              photo(r.image_id),
              r.subject,
              r.reasons.join("; "),
              asideButton(r.image_id),
            ]),
          ),
      section(
        "Closest strangers",
        "Kept unknown faces that come closest to a subject: a lookalike, or a face its examples miss.",
        ["Example", "Subject", "Similarity"],
        report.strangers.map((s) => [photo(s.image_id), s.subject, similarityText(s.similarity)]),
      ),
      thresholdCard(report),
      section(
        "Set aside",
        "Kept and listed, but searched by no one until restored.",
        ["Example", "Subject", ""],
        report.set_aside.map((e) => [photo(e.image_id), e.subject, asideButton(e.image_id, false)]),
      ),
    );
  }

  const unique = h("input", {
    type: "checkbox",
    name: "unique-subjects",
    checked: ctx.service.uniqueSubjects,
    disabled: !ctx.app.canEditServices,
    onchange: async () => {
      const changes = { uniqueSubjects: unique.checked };
      ctx.service = await admin.changeSettings(ctx.app.id, ctx.service.id, changes);
      toast(unique.checked ? "One subject per photo" : "Subjects may repeat in a photo");
    },
  });
  fill(
    main,
    serviceHeader(ctx, "check"),
    h(
      "section.card.check-settings",
      {},
      h("label.switch", {}, quality, " Check photo quality (one inference per example)"),
      h("button.primary", { type: "button", onclick: () => draw() }, "Check again"),
      h("label.switch", {}, unique, " One subject per photo"),
      h(
        "p.muted",
        {},
        "With one subject per photo, recognition gives each subject to one face of a photo at " +
          "most, sharing them out by the best total similarity.",
      ),
    ),
    findings,
  );
  await draw();
}
