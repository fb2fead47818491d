// What the three service pages share: loading a service, its header with breadcrumbs and tabs.

import { accounts } from "./api.js";
import { h, copyable } from "./dom.js";
import { href } from "./session.js";

export const KIND_LABELS = {
  recognition: "Recognition",
  detection: "Detection",
  verification: "Verification",
};

/** The application and the service a service page is about. */
export async function loadService(appId, serviceId) {
  const [app, service] = await Promise.all([
    accounts.app(appId),
    accounts.service(appId, serviceId),
  ]);
  return { app, service, kind: service.type }; // "recognition" | "detection" | "verification"
}

/** Breadcrumbs, the service name and key, and tabs: Dashboard, Collection, Test. */
export function serviceHeader({ app, service, kind }, active) {
  const base = ["app", app.id, "service", service.id];
  const tabs = [
    ["dashboard", "Dashboard", href(...base)],
    kind === "recognition" ? ["collection", "Face collection", href(...base, "collection")] : null,
    ["test", "Test", href(...base, "test")],
  ].filter(Boolean);
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
