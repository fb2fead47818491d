// Who is signed in, and navigation helpers the pages share.

import { accounts } from "./api.js";

const state = { user: null, busy: null, listeners: [] };

/** The signed-in user ({userId, email, firstName, lastName, globalRole}) or null. */
export function currentUser() {
  return state.user;
}

/** Re-read the signed-in user from the server and tell the listeners (the top bar). */
export async function refreshUser() {
  try {
    state.user = await accounts.me();
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

export function onUserChange(listener) {
  state.listeners.push(listener);
}

const ROLE_LABELS = { OWNER: "Owner", ADMINISTRATOR: "Administrator", USER: "User" };

/** "Administrator" for "ADMINISTRATOR" (global and application roles share the names). */
export function roleLabel(role) {
  return ROLE_LABELS[role] ?? role;
}

/** Global OWNER and ADMINISTRATOR manage users and every application. */
export function isAdmin(user = state.user) {
  return ["OWNER", "ADMINISTRATOR"].includes(user?.globalRole);
}

/** Navigate to a hash route: go("app", id, "service", sid). */
export function go(...segments) {
  window.location.hash = href(...segments);
}

/** Link target for a hash route, with each segment encoded. */
export function href(...segments) {
  return `#/${segments.map(encodeURIComponent).join("/")}`;
}

/**
 * A page with unfinished work (uploads) registers `busy()`, which returns a reason to stay or
 * null; the router asks before leaving. Each page render resets it.
 */
export function guardLeave(busy) {
  state.busy = busy;
}

export function leaveReason() {
  return state.busy ? state.busy() : null;
}
