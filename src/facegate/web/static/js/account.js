// @ts-check
// Account settings: name, password, logging out everywhere.

import { admin } from "./api.js";
import { h, fill, field, asyncForm, toast } from "./dom.js";
import { MIN_PASSWORD } from "./password.js";
import { currentUser, refreshUser, roleLabel } from "./session.js";

/**
 * @param {string} title
 * @param {import("./dom.js").Child} fields
 * @param {string} submit
 * @param {Parameters<typeof asyncForm>[2]} onSubmit
 */
function formCard(title, fields, submit, onSubmit) {
  return h("section.card", {}, h("h2", {}, title), asyncForm(fields, submit, onSubmit));
}

/** @param {HTMLElement} main */
export async function render(main) {
  const user = /** @type {import("./api.js").User} */ (currentUser()); // a private page
  fill(
    main,
    h(
      "header.page-header",
      {},
      h("h1", {}, "Account"),
      h("p.muted", {}, `${user.email} · ${roleLabel(user.globalRole)}`),
    ),
    h(
      "div.columns",
      {},
      formCard(
        "Profile",
        [
          field("First name", {
            name: "firstName",
            value: user.firstName,
            maxlength: 50,
            autocomplete: "given-name",
          }),
          field("Last name", {
            name: "lastName",
            value: user.lastName,
            maxlength: 50,
            autocomplete: "family-name",
          }),
        ],
        "Save",
        async ({ firstName, lastName }) => {
          if (!firstName.trim() || !lastName.trim()) throw new Error("Both names are needed.");
          await admin.updateProfile(firstName.trim(), lastName.trim());
          await refreshUser();
          toast("Profile saved");
        },
      ),
      formCard(
        "Password",
        [
          field("Current password", {
            name: "oldPassword",
            type: "password",
            autocomplete: "current-password",
          }),
          field("New password", {
            name: "newPassword",
            type: "password",
            autocomplete: "new-password",
            minlength: MIN_PASSWORD,
          }),
          field("Confirm new password", {
            name: "confirm",
            type: "password",
            autocomplete: "new-password",
          }),
        ],
        "Change password",
        async ({ oldPassword, newPassword, confirm }, form) => {
          if (newPassword.length < MIN_PASSWORD)
            throw new Error(`The new password needs at least ${MIN_PASSWORD} characters.`);
          if (newPassword !== confirm) throw new Error("The two new passwords differ.");
          await admin.changePassword(oldPassword, newPassword);
          form.reset();
          toast("Password changed");
        },
      ),
    ),
  );
}
