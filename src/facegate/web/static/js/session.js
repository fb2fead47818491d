// @ts-check
// Who is signed in, and navigation helpers the pages share.

import { admin } from "./api.js";

/** @typedef {import("./api.js").User} User */
/**
 * What the router gives a page: the route's segments (app and service on the service pages),
 * the query of the hash, the signed-in user.
 * @typedef {{app: string, service: string, query: URLSearchParams, user: User | null}} PageParams
 */
/** @typedef {(user: User | null) => void} UserListener */

const state = {
  /** @type {User | null} */
  user: null,
  /** @type {(() => string | null) | null} */
  busy: null,
  /** @type {UserListener[]} */
  listeners: [],
};

/** The signed-in user, or null. */
export function currentUser() {
  return state.user;
}

/** Re-read the signed-in user from the server and tell the listeners (the top bar). */
export async function refreshUser() {
  try {
    state.user = await admin.me();
  } catch {
    state.user = null;
  }
  for (const listener of state.listeners) listener(state.user);
  return state.user;
}

/** Forget the user locally (after logout or a 401). */
export function clearUser() {
  state.user = null;
  for (const listener of state.listeners) listener(null);
}

/** @param {UserListener} listener */
export function onUserChange(listener) {
  state.listeners.push(listener);
}

const ROLE_LABELS = { OWNER: "Owner", ADMINISTRATOR: "Administrator", USER: "User" };

/**
 * "Administrator" for "ADMINISTRATOR" (global and application roles share the names).
 * @param {string} role
 */
export function roleLabel(role) {
  return ROLE_LABELS[/** @type {import("./api.js").Role} */ (role)] ?? role;
}

/**
 * Global OWNER and ADMINISTRATOR manage users and every application.
 * @param {User | null} user
 */
export function isAdmin(user = state.user) {
  return user !== null && ["OWNER", "ADMINISTRATOR"].includes(user.globalRole);
}

/**
 * Navigate to a hash route: go("app", id, "service", sid).
 * @param {...string} segments
 */
export function go(...segments) {
  window.location.hash = href(...segments);
}

/**
 * Link target for a hash route, with each segment encoded.
 * @param {...string} segments
 */
export function href(...segments) {
  return `#/${segments.map(encodeURIComponent).join("/")}`;
}

/**
 * A page with unfinished work (uploads) registers `busy()`, which returns a reason to stay or
 * null; the router asks before leaving. Each page render resets it.
 * @param {(() => string | null) | null} busy
 */
export function guardLeave(busy) {
  state.busy = busy;
}

export function leaveReason() {
  return state.busy ? state.busy() : null;
}
