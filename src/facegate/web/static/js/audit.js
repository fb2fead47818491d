// @ts-check
// The audit trail and the outgoing mail, for global owners and administrators.

import { admin } from "./api.js";
import { h, fill, localTime, table, toast } from "./dom.js";
import { currentUser, isAdmin } from "./session.js";

/** @typedef {import("./api.js").AuditEntry} AuditEntry */

const PAGE_SIZE = 50;

/** @param {HTMLElement} main */
export async function render(main) {
  if (!isAdmin(currentUser()))
    throw new Error("Only global owners and administrators read the audit trail.");
  let page = 0;
  let action = "";
  const entriesBox = h("div.audit-entries");
  const pager = h("div.row-actions");
  const mailBox = h("div.outgoing-mail");

  /** A link to the export of what the filter shows, in one format. */
  const exportLink = (/** @type {string} */ format, /** @type {string} */ label) => {
    const query = new URLSearchParams({ format });
    if (action) query.set("action", action);
    return h("a", { href: `/admin/audit/export?${query}`, download: "" }, label);
  };
  const exports = h("p.muted");

  async function drawEntries() {
    const trail = await admin.auditTrail({ action, page, size: PAGE_SIZE });
    fill(
      entriesBox,
      table(
        ["Time", "Action", "Who", "Address", "On", "Detail"],
        trail.items.map((e) => [
          localTime(e.time),
          e.action,
          e.actor ?? "anonymous",
          e.address ?? "",
          e.target ?? "",
          e.detail ? JSON.stringify(e.detail) : "",
        ]),
        "Nothing recorded.",
      ),
    );
    const pages = Math.max(1, Math.ceil(trail.total / PAGE_SIZE));
    const move = (/** @type {number} */ by) => () => {
      page += by;
      drawEntries().catch((err) => toast(err.message, "error"));
    };
    fill(
      pager,
      h("button", { type: "button", disabled: page === 0, onclick: move(-1) }, "Newer"),
      h("span", {}, `Page ${page + 1} of ${pages} (${trail.total} entries)`),
      h("button", { type: "button", disabled: page + 1 >= pages, onclick: move(1) }, "Older"),
    );
    fill(exports, "Export: ", exportLink("csv", "CSV"), " · ", exportLink("jsonl", "JSON Lines"));
  }

  async function drawMail() {
    const mails = await admin.outgoingMail();
    fill(
      mailBox,
      table(
        ["Time", "Kind", "To", "State", "Attempts", "Last error", "Next attempt"],
        mails.map((m) => [
          localTime(m.createdDate),
          m.kind,
          m.recipient,
          m.state,
          String(m.attempts),
          m.error ?? "",
          localTime(m.nextAttemptAt),
        ]),
        "No e-mail sent yet.",
      ),
    );
  }

  const filter = h("input.search", {
    type: "search",
    placeholder: "Action, e.g. login or service.apikey",
    "aria-label": "Filter by action",
    onchange: () => {
      action = filter.value.trim();
      page = 0;
      drawEntries().catch((err) => toast(err.message, "error"));
    },
  });
  fill(
    main,
    h(
      "header.page-header",
      {},
      h("h1", {}, "Audit trail"),
      h("p.muted", {}, "Logins, roles, API keys, and what was created or deleted, newest first."),
    ),
    h("section.card.audit", {}, filter, exports, entriesBox, pager),
    h("section.card", {}, h("h2", {}, "Outgoing e-mail"), mailBox),
  );
  await Promise.all([drawEntries(), drawMail()]);
}
