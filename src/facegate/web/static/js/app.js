// @ts-check
// The single-page app: hash routes to pages, the top navigation, the start-up.

import { admin, setUnauthorizedHandler } from "./api.js";
import { h, fill, toast } from "./dom.js";
import {
  clearUser,
  currentUser,
  go,
  guardLeave,
  isAdmin,
  leaveReason,
  onUserChange,
  refreshUser,
} from "./session.js";
import * as auth from "./auth.js";
import * as apps from "./apps.js";
import * as dashboard from "./dashboard.js";
import * as collection from "./collection.js";
import * as tester from "./tester.js";
import * as unknownFaces from "./unknown.js";
import * as galleryCheck from "./gallery-check.js";
import * as users from "./users.js";
import * as audit from "./audit.js";
import * as account from "./account.js";

/** @typedef {import("./api.js").User} User */
/** @typedef {import("./session.js").PageParams} PageParams */
/** @typedef {(main: HTMLElement, params: PageParams) => Promise<void>} Page */
/** @typedef {[pattern: string, page: Page][]} Routes */

/**
 * An element index.html has.
 * @param {"nav" | "banner" | "main"} id
 */
const part = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

// Pages for visitors; a signed-in user is sent home from these (except a reset link).
/** @type {Routes} */
const PUBLIC = [
  ["login", auth.login],
  ["sign-up", auth.signUp],
  ["forgot-password", auth.forgotPassword],
  ["reset-password", auth.resetPassword],
];
/** @type {Routes} */
const PRIVATE = [
  ["", apps.list],
  ["app/:app", apps.detail],
  ["app/:app/service/:service", dashboard.render],
  ["app/:app/service/:service/collection", collection.render],
  ["app/:app/service/:service/unknown", unknownFaces.render],
  ["app/:app/service/:service/check", galleryCheck.render],
  ["app/:app/service/:service/test", tester.render],
  ["users", users.render],
  ["audit", audit.render],
  ["account", account.render],
];

/** The route in the hash ("#/app/x?token=y") as path and query. */
function where() {
  // Links in emails point at /reset-password?token=... or /login: turn them into hash routes.
  if (window.location.pathname !== "/" && !window.location.hash) {
    const target = `/#${window.location.pathname}${window.location.search}`;
    window.history.replaceState(null, "", target);
  }
  const [path, query = ""] = window.location.hash.replace(/^#\/?/, "").split("?");
  return { path: path.replace(/\/$/, ""), query: new URLSearchParams(query) };
}

/**
 * The page of the first route `path` matches, with the route's segments.
 * @param {Routes} routes
 * @param {string} path
 * @returns {{page: Page, params: Record<string, string>} | null}
 */
function match(routes, path) {
  const parts = path ? path.split("/") : [];
  for (const [pattern, page] of routes) {
    const want = pattern ? pattern.split("/") : [];
    if (want.length !== parts.length) continue;
    /** @type {Record<string, string>} */
    const params = {};
    const ok = want.every((segment, i) => {
      if (!segment.startsWith(":")) return segment === parts[i];
      params[segment.slice(1)] = decodeURIComponent(parts[i]);
      return true;
    });
    if (ok) return { page, params };
  }
  return null;
}

/** @param {User | null} user */
function renderNav(user) {
  const nav = part("nav");
  // The REST API's Swagger page (served offline by facegate), for everyone who reaches the UI.
  const apiDocs = h("a", { href: "/swagger-ui.html", title: "REST API reference (Swagger)" }, "API");
  if (!user) {
    fill(
      nav,
      h("a", { href: "#/login" }, "Log in"),
      h("a", { href: "#/sign-up" }, "Sign up"),
      apiDocs,
    );
    return;
  }
  const name = `${user.firstName ?? ""} ${user.lastName ?? ""}`.trim() || user.email;
  fill(
    nav,
    h("a", { href: "#/" }, "Applications"),
    isAdmin(user) ? h("a", { href: "#/users" }, "Users") : null,
    isAdmin(user) ? h("a", { href: "#/audit" }, "Audit") : null,
    apiDocs,
    h("a.user", { href: "#/account", title: `Account settings (${user.email})` }, name),
    h("button.link", { type: "button", onclick: logout }, "Log out"),
  );
}

async function logout() {
  try {
    await admin.logout();
  } catch (err) {
    toast(/** @type {Error} */ (err).message, "error");
  }
  clearUser();
  go("login");
}

/**
 * @param {string} title
 * @param {string} message
 */
function failure(title, message) {
  return h(
    "section.card.narrow",
    {},
    h("h1", {}, title),
    h("p.form-error", {}, message),
    h("a", { href: "#/" }, "Back to applications"),
  );
}

/** @type {string | null} */
let shown = null; // the hash on screen, restored when the user stays on a busy page

/** The banner under the top bar: face examples the server's model cannot search yet. */
async function renderBanner() {
  const banner = part("banner");
  let model;
  try {
    model = (await admin.config()).faceModel;
  } catch {
    return; // the pages report an unreachable server themselves
  }
  const count = model.inconsistentExamples;
  banner.hidden = count === 0;
  fill(
    banner,
    count === 0
      ? null
      : [
          `${count} of ${model.examples} face example(s) have no embedding by ${model.name} `,
          "(only by another model) and are not searched until they are embedded: run ",
          h("code", {}, "facegate migrate"),
          " on the server.",
        ],
  );
}

async function route() {
  const reason = shown !== null && window.location.hash !== shown ? leaveReason() : null;
  if (reason && !window.confirm(`${reason} Leave this page anyway?`)) {
    window.history.replaceState(null, "", shown);
    return;
  }
  guardLeave(null);
  const { path, query } = where();
  shown = window.location.hash;
  const user = currentUser();
  const pub = match(PUBLIC, path);
  const priv = pub ? null : match(PRIVATE, path);
  if (priv && !user) return go("login");
  if (pub && user && path !== "reset-password") return go();
  const main = part("main");
  const found = pub || priv;
  document.body.dataset.page = found ? path.split("/")[0] || "apps" : "missing";
  if (!found) return fill(main, failure("Page not found", `Nothing lives at #/${path}.`));
  fill(main, h("p.loading", {}, "Loading…"));
  renderBanner();
  try {
    const params = /** @type {PageParams} */ ({ ...found.params, query, user });
    await found.page(main, params);
  } catch (err) {
    const { status, message } = /** @type {import("./api.js").ApiError} */ (err);
    if (status !== 401) fill(main, failure("Something went wrong", message));
  }
}

setUnauthorizedHandler(() => {
  clearUser();
  go("login");
});
onUserChange(renderNav);
window.addEventListener("hashchange", route);
window.addEventListener("beforeunload", (event) => {
  if (leaveReason()) event.preventDefault();
});

await refreshUser();
route();
