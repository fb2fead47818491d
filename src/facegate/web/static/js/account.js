// Account settings: name, password, logging out everywhere.

import { accounts } from "./api.js";
import { h, fill, field, toast } from "./dom.js";
import { currentUser, refreshUser, roleLabel } from "./session.js";

const MIN_PASSWORD = 8;

/** A card with a form whose `onSubmit(data, form)` may throw to show its message. */
function formCard(title, fields, submit, onSubmit) {
  const error = h("p.form-error", { role: "alert" });
  const button = h("button.primary", { type: "submit" }, submit);
  const form = h("form.stack", {}, fields, error, h("div.actions", {}, button));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    error.textContent = "";
    button.disabled = true;
    try {
      await onSubmit(Object.fromEntries(new FormData(form)), form);
    } catch (err) {
      error.textContent = err.message;
    } finally {
      button.disabled = false;
    }
  });
  return h("section.card", {}, h("h2", {}, title), form);
}

export async function render(main) {
  const user = currentUser();
  fill(
    main,
    h("header.page-header", {}, h("h1", {}, "Account"), h("p.muted", {}, `${user.email} · ${roleLabel(user.globalRole)}`)),
    h(
      "div.columns",
      {},
      formCard(
        "Profile",
        [
          field("First name", { name: "firstName", value: user.firstName, maxlength: 50, autocomplete: "given-name" }),
          field("Last name", { name: "lastName", value: user.lastName, maxlength: 50, autocomplete: "family-name" }),
        ],
        "Save",
        async ({ firstName, lastName }) => {
          if (!firstName.trim() || !lastName.trim()) throw new Error("Both names are needed.");
          await accounts.updateProfile(firstName.trim(), lastName.trim());
          await refreshUser();
          toast("Profile saved");
        },
      ),
      formCard(
        "Password",
        [
          field("Current password", { name: "oldPassword", type: "password", autocomplete: "current-password" }),
          field("New password", { name: "newPassword", type: "password", autocomplete: "new-password", minlength: MIN_PASSWORD }),
          field("Confirm new password", { name: "confirm", type: "password", autocomplete: "new-password" }),
        ],
        "Change password",
        async ({ oldPassword, newPassword, confirm }, form) => {
          if (newPassword.length < MIN_PASSWORD) throw new Error(`The new password needs at least ${MIN_PASSWORD} characters.`);
          if (newPassword !== confirm) throw new Error("The two new passwords differ.");
          await accounts.changePassword(oldPassword, newPassword);
          form.reset();
          toast("Password changed");
        },
      ),
    ),
  );
}
