// @ts-check
// User management for global owners and administrators: global roles, deleting accounts.

import { admin } from "./api.js";
import {
  h,
  fill,
  confirmDialog,
  field,
  formDialog,
  formValues,
  searchBox,
  select,
  selectField,
  table,
  toast,
} from "./dom.js";
import { MIN_PASSWORD } from "./password.js";
import { currentUser, isAdmin, roleLabel } from "./session.js";

/** @typedef {import("./api.js").UserRole} UserRole */
/** @typedef {import("./api.js").Role} Role */

/** @param {HTMLElement} main */
export async function render(main) {
  if (!isAdmin(currentUser()))
    throw new Error("Only global owners and administrators manage users.");
  const rerender = () => render(main).catch((err) => toast(err.message, "error"));
  const [users, assignable] = await Promise.all([admin.users(), admin.assignableGlobalRoles()]);
  const me = /** @type {import("./api.js").User} */ (currentUser()); // a private page

  /** @param {UserRole} user */
  const setRole = (user) => async (/** @type {Event} */ event) => {
    const target = /** @type {HTMLSelectElement} */ (event.target);
    const role = /** @type {Role} */ (target.value);
    if (
      role === "OWNER" &&
      !(await confirmDialog(
        "Transfer ownership?",
        `${user.firstName} ${user.lastName} becomes the owner of this server and you become an administrator.`,
        "Transfer",
      ))
    ) {
      target.value = user.role;
      return;
    }
    try {
      await admin.setGlobalRole(user.userId, role);
      toast(`${user.firstName} is now ${roleLabel(role)}`);
    } catch (err) {
      toast(/** @type {Error} */ (err).message, "error");
    }
    rerender();
  };
  /** @param {UserRole} user */
  const remove = (user) => async () => {
    const ok = await confirmDialog(
      `Delete ${user.firstName} ${user.lastName}?`,
      "Their account is deleted; applications they own pass to you.",
    );
    if (!ok) return;
    await admin.deleteUser(user.userId, "deleter");
    toast(`Deleted ${user.email}`);
    rerender();
  };

  const addUser = async () => {
    const created = await formDialog({
      title: "Add user",
      fields: [
        h(
          "div.row",
          {},
          field("First name", { name: "firstName", maxlength: 50, required: true }),
          field("Last name", { name: "lastName", maxlength: 50, required: true }),
        ),
        field("Email", { name: "email", type: "email", required: true }),
        field("Initial password", {
          name: "password",
          type: "password",
          minlength: MIN_PASSWORD,
          required: true,
          autocomplete: "new-password",
        }),
        selectField(
          "Global role",
          "role",
          assignable.filter((r) => r !== "OWNER").map((r) => [r, roleLabel(r)]),
          "USER",
        ),
      ],
      submit: "Add user",
      onSubmit: async (data) =>
        admin.createUser(
          /** @type {import("./api.js").NewUser & {role: Role}} */ (formValues(data)),
        ),
    });
    if (created) {
      toast(`Added ${created.email}`);
      rerender();
    }
  };
  /** @param {UserRole} user */
  const editable = (user) => user.userId !== me.userId && user.role !== "OWNER";
  const rowsBox = h("div");
  /** @param {string} filter */
  const draw = (filter) => {
    const shown = users.filter((u) =>
      `${u.firstName} ${u.lastName} ${u.email}`.toLowerCase().includes(filter),
    );
    fill(
      rowsBox,
      table(
        ["Name", "Email", "Global role", ""],
        shown.map((user) => [
          `${user.firstName} ${user.lastName}`,
          user.email,
          editable(user) && assignable.includes(user.role)
            ? select(
                { "aria-label": `Global role of ${user.email}`, onchange: setRole(user) },
                assignable.map((role) => [role, roleLabel(role)]),
                user.role,
              )
            : roleLabel(user.role),
          editable(user)
            ? h("button.link.danger", { type: "button", onclick: remove(user) }, "Delete")
            : "",
        ]),
        "No user matches.",
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
        h("h1", {}, "Users"),
        h("button.primary", { type: "button", onclick: addUser }, "Add user"),
      ),
      h(
        "p.muted",
        {},
        "Owners and administrators see every application; users see the ones they are members of.",
      ),
    ),
    h("section.card", {}, searchBox("Search users", draw), rowsBox),
  );
  draw("");
}
