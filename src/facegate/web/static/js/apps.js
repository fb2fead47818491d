// @ts-check
// Applications: the list with search, and one application's services and members.

import { admin } from "./api.js";
import {
  h,
  fill,
  confirmDialog,
  copyable,
  field,
  formDialog,
  searchBox,
  select,
  selectField,
  table,
  toast,
} from "./dom.js";
import { currentUser, go, href, isAdmin, roleLabel } from "./session.js";
import { KIND_LABELS } from "./service.js";

/** @typedef {import("./api.js").App} App */
/** @typedef {import("./api.js").Service} Service */
/** @typedef {import("./api.js").UserRole} UserRole */
/** @typedef {import("./api.js").Role} Role */
/** @typedef {import("./api.js").ServiceKind} ServiceKind */
/** @typedef {import("./session.js").PageParams} PageParams */

/** @type {[Role, string][]} */
const ROLES = ["OWNER", "ADMINISTRATOR", "USER"].map((role) => [
  /** @type {Role} */ (role),
  roleLabel(role),
]);
/** @type {[ServiceKind, string][]} */
const TYPES = [
  ["recognition", "Recognition: who is in the photo, from your face collection"],
  ["detection", "Detection: where the faces are, with age, gender, pose"],
  ["verification", "Verification: are two photos the same person"],
];

/** @param {App} app */
function ownerName(app) {
  return app.owner ? `${app.owner.firstName} ${app.owner.lastName}` : "—";
}

async function createApp() {
  const app = await formDialog({
    title: "Create application",
    fields: field("Application name", {
      name: "name",
      maxlength: 50,
      required: true,
      autocomplete: "off",
    }),
    submit: "Create",
    onSubmit: async (data) => admin.createApp(String(data.get("name")).trim()),
  });
  if (app) go("app", app.id);
}

/** @param {HTMLElement} main */
export async function list(main) {
  const apps = await admin.apps();
  const rows = h("div.app-list");
  /** @param {string} filter */
  const draw = (filter) => {
    const shown = apps.filter((app) => app.name.toLowerCase().includes(filter));
    fill(
      rows,
      table(
        ["Application", "Owner", "Your role"],
        shown.map((app) => [
          h("a.strong", { href: href("app", app.id) }, app.name),
          ownerName(app),
          app.role ? roleLabel(app.role) : "—",
        ]),
        apps.length
          ? "No application matches."
          : "No applications yet. Create one to add face services.",
      ),
    );
  };
  fill(
    main,
    h(
      "header.page-header",
      {},
      h(
        "div.title-row",
        {},
        h("h1", {}, "Applications"),
        isAdmin(currentUser())
          ? h("button.primary", { type: "button", onclick: createApp }, "Create application")
          : null,
      ),
      h("p.muted", {}, "An application groups face services and the people who may use them."),
    ),
    h("section.card", {}, searchBox("Search applications", draw), rows),
  );
  draw("");
}

/**
 * The create-service dialog: name and type; resolves to the new service or undefined.
 * @param {string} appId
 */
function createServiceDialog(appId) {
  return formDialog({
    title: "Create face service",
    fields: [
      field("Service name", { name: "name", maxlength: 50, required: true, autocomplete: "off" }),
      h(
        "fieldset.types",
        {},
        h("legend", {}, "Type"),
        TYPES.map(([value, text], i) =>
          h(
            "label.radio",
            {},
            h("input", { type: "radio", name: "type", value, checked: i === 0 }),
            text,
          ),
        ),
      ),
    ],
    submit: "Create",
    onSubmit: async (data) =>
      admin.createService(
        appId,
        String(data.get("name")).trim(),
        /** @type {ServiceKind} */ (String(data.get("type"))),
      ),
  });
}

/**
 * The buttons of one service's row; the menu of changes only when `allowed`.
 * @param {App} app
 * @param {Service} service
 * @param {() => void} reload
 * @param {boolean} allowed
 */
function serviceActions(app, service, reload, allowed) {
  const base = ["app", app.id, "service", service.id];
  const rename = async () => {
    const done = await formDialog({
      title: `Rename ${service.name}`,
      fields: field("Name", { name: "name", value: service.name, maxlength: 50, required: true }),
      onSubmit: async (data) =>
        admin.renameService(app.id, service.id, String(data.get("name")).trim()),
    });
    if (done) reload();
  };
  const clone = async () => {
    const done = await formDialog({
      title: `Clone ${service.name}`,
      fields: [
        h("p.muted", {}, "The copy gets its own API key and a copy of the face collection."),
        field("Name of the copy", {
          name: "name",
          value: `${service.name} copy`,
          maxlength: 50,
          required: true,
        }),
      ],
      submit: "Clone",
      onSubmit: async (data) =>
        admin.cloneService(app.id, service.id, String(data.get("name")).trim()),
    });
    if (done) reload();
  };
  const regenerate = async () => {
    if (
      !(await confirmDialog(
        "Regenerate the API key?",
        `Clients using the current key of ${service.name} will stop working.`,
        "Regenerate",
      ))
    )
      return;
    await admin.regenerateKey(app.id, service.id);
    reload();
  };
  const remove = async () => {
    const done = await formDialog({
      title: `Delete ${service.name}?`,
      fields: [
        h(
          "p",
          {},
          "The service, its key and its face collection are deleted. Type the service name to confirm.",
        ),
        field("Service name", { name: "name", autocomplete: "off" }),
      ],
      submit: "Delete",
      danger: true,
      onSubmit: async (data) => {
        if (data.get("name") !== service.name) throw new Error("The name does not match.");
        await admin.deleteService(app.id, service.id);
        return true;
      },
    });
    if (done) reload();
  };
  return h(
    "div.row-actions",
    {},
    h("a.button", { href: href(...base, "test") }, "Test"),
    service.type === "recognition"
      ? h("a.button", { href: href(...base, "collection") }, "Collection")
      : null,
    h("a.button", { href: href(...base) }, "Dashboard"),
    allowed
      ? h(
          "details.menu",
          {},
          h("summary.button", { "aria-label": `More actions for ${service.name}` }, "⋯"),
          h(
            "div.menu-items",
            {},
            h("button", { type: "button", onclick: rename }, "Rename"),
            h("button", { type: "button", onclick: clone }, "Clone"),
            h("button", { type: "button", onclick: regenerate }, "New API key"),
            h("button.danger", { type: "button", onclick: remove }, "Delete"),
          ),
        )
      : null,
  );
}

/**
 * The members of `app` with their roles; changes only when `allowed`.
 * @param {App} app
 * @param {UserRole[]} members
 * @param {() => void} reload
 * @param {boolean} allowed
 */
function membersSection(app, members, reload, allowed) {
  /** @param {UserRole} member */
  const change = (member) => async (/** @type {Event} */ event) => {
    const role = /** @type {Role} */ (/** @type {HTMLSelectElement} */ (event.target).value);
    try {
      await admin.setMemberRole(app.id, member.userId, role);
      toast(`${member.firstName} is now ${roleLabel(role)}`);
    } catch (err) {
      toast(/** @type {Error} */ (err).message, "error");
    }
    reload();
  };
  /** @param {UserRole} member */
  const remove = (member) => async () => {
    if (
      !(await confirmDialog(
        `Remove ${member.firstName} ${member.lastName}?`,
        `They will lose access to ${app.name}.`,
        "Remove",
      ))
    )
      return;
    await admin.removeMember(app.id, member.userId);
    reload();
  };
  const invite = async () => {
    const done = await formDialog({
      title: `Invite to ${app.name}`,
      fields: [
        field("Email of an existing user", { name: "email", type: "email", required: true }),
        selectField("Role", "role", ROLES, "USER"),
      ],
      submit: "Invite",
      onSubmit: async (data) =>
        admin.invite(
          app.id,
          String(data.get("email")).trim(),
          /** @type {Role} */ (String(data.get("role"))),
        ),
    });
    if (done) reload();
  };
  const rows = members.map((m) => [
    `${m.firstName} ${m.lastName}`,
    m.email,
    allowed && m.role !== "OWNER"
      ? select({ "aria-label": `Role of ${m.email}`, onchange: change(m) }, ROLES, m.role)
      : roleLabel(m.role),
    allowed && m.role !== "OWNER"
      ? h("button.link.danger", { type: "button", onclick: remove(m) }, "Remove")
      : "",
  ]);
  return h(
    "section.card",
    {},
    h(
      "div.title-row",
      {},
      h("h2", {}, "Members"),
      allowed ? h("button", { type: "button", onclick: invite }, "Invite") : null,
    ),
    table(["Name", "Email", "Role", ""], rows, "No members."),
  );
}

/**
 * @param {HTMLElement} main
 * @param {PageParams} params
 */
export async function detail(main, params) {
  const reload = () => detail(main, params).catch((err) => toast(err.message, "error"));
  const [app, services, members] = await Promise.all([
    admin.app(params.app),
    admin.services(params.app),
    admin.members(params.app),
  ]);
  // The server says what the caller may do (decisions.md C5.3); only those actions are offered.
  const allowed = { writeApp: app.canManage, writeServices: app.canEditServices };
  const renameApp = async () => {
    const done = await formDialog({
      title: "Rename application",
      fields: field("Name", { name: "name", value: app.name, maxlength: 50, required: true }),
      onSubmit: async (data) => admin.renameApp(app.id, String(data.get("name")).trim()),
    });
    if (done) reload();
  };
  const deleteApp = async () => {
    if (
      !(await confirmDialog(
        `Delete ${app.name}?`,
        "Every service, key and face collection of this application is deleted.",
      ))
    )
      return;
    await admin.deleteApp(app.id);
    go();
  };
  const addService = async () => {
    const service = await createServiceDialog(app.id);
    if (service) {
      toast(`Created ${service.name}`);
      reload();
    }
  };
  const rows = services.map((s) => [
    h("a.strong", { href: href("app", app.id, "service", s.id) }, s.name),
    KIND_LABELS[s.type],
    copyable(s.apiKey, `Copy the API key of ${s.name}`),
    serviceActions(app, s, reload, allowed.writeServices),
  ]);
  fill(
    main,
    h(
      "header.page-header",
      {},
      h(
        "nav.crumbs",
        { "aria-label": "Breadcrumbs" },
        h("a", { href: "#/" }, "Applications"),
        h("span", {}, app.name),
      ),
      h(
        "div.title-row",
        {},
        h("h1", {}, app.name),
        allowed.writeApp
          ? h(
              "div.actions",
              {},
              h("button", { type: "button", onclick: renameApp }, "Rename"),
              h("button.danger", { type: "button", onclick: deleteApp }, "Delete"),
            )
          : null,
      ),
      h("p.muted", {}, `Owner: ${ownerName(app)}`),
    ),
    h(
      "section.card",
      {},
      h(
        "div.title-row",
        {},
        h("h2", {}, "Services"),
        allowed.writeServices
          ? h("button.primary", { type: "button", onclick: addService }, "Create service")
          : null,
      ),
      table(
        ["Service", "Type", "API key", ""],
        rows,
        "No services yet. Create one to get an API key.",
      ),
    ),
    membersSection(app, members, reload, allowed.writeApp),
  );
}
