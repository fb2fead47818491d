// @ts-check
// What the three service pages share: loading a service, its header with breadcrumbs and tabs.

import { admin } from "./api.js";
import { h, copyable } from "./dom.js";
import { href } from "./session.js";

/** @typedef {import("./api.js").App} App */
/** @typedef {import("./api.js").Service} Service */
/** @typedef {import("./api.js").ServiceKind} ServiceKind */
/** @typedef {{app: App, service: Service, kind: ServiceKind}} ServiceContext */

/** @type {Record<ServiceKind, string>} */
export const KIND_LABELS = {
  recognition: "Recognition",
  detection: "Detection",
  verification: "Verification",
};

/**
 * The application and the service a service page is about.
 * @param {string} appId
 * @param {string} serviceId
 * @returns {Promise<ServiceContext>}
 */
export async function loadService(appId, serviceId) {
  const [app, service] = await Promise.all([admin.app(appId), admin.service(appId, serviceId)]);
  return { app, service, kind: service.type };
}

/**
 * Breadcrumbs, the service name and key, and tabs: Dashboard, Collection, Unknown faces,
 * Gallery check, Test.
 * @param {ServiceContext} ctx
 * @param {"dashboard" | "collection" | "unknown" | "check" | "test"} active
 */
export function serviceHeader({ app, service, kind }, active) {
  const base = ["app", app.id, "service", service.id];
  /** @type {[string, string, string][]} */
  const tabs = [["dashboard", "Dashboard", href(...base)]];
  if (kind === "recognition") {
    tabs.push(["collection", "Face collection", href(...base, "collection")]);
    tabs.push(["unknown", "Unknown faces", href(...base, "unknown")]);
    tabs.push(["check", "Gallery check", href(...base, "check")]);
  }
  tabs.push(["test", "Test", href(...base, "test")]);
  return h(
    "header.page-header",
    {},
    h(
      "nav.crumbs",
      { "aria-label": "Breadcrumbs" },
      h("a", { href: "#/" }, "Applications"),
      h("a", { href: href("app", app.id) }, app.name),
      h("span", {}, service.name),
    ),
    h(
      "div.title-row",
      {},
      h("h1", {}, service.name, h("span.badge", {}, KIND_LABELS[kind])),
      h("div.key", {}, h("span.muted", {}, "API key"), copyable(service.apiKey, "Copy API key")),
    ),
    h(
      "nav.tabs",
      { "aria-label": "Service pages" },
      tabs.map(([id, label, link]) =>
        h(
          "a",
          {
            href: link,
            class: id === active ? "active" : null,
            "aria-current": id === active ? "page" : null,
          },
          label,
        ),
      ),
    ),
  );
}
