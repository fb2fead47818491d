// @ts-check
// Visitor pages: log in, sign up, forgot password, reset password.

import { admin } from "./api.js";
import { h, fill, field, asyncForm } from "./dom.js";
import { MIN_PASSWORD } from "./password.js";
import { go, refreshUser } from "./session.js";

// The email rule CompreFace's UI and admin service use.
const EMAIL = /^[_A-Za-z0-9-+]+(\.[_A-Za-z0-9-]+)*@[A-Za-z0-9-]+(\.[A-Za-z0-9]+)*(\.[A-Za-z]{2,})$/;

/** @typedef {import("./session.js").PageParams} PageParams */

/**
 * A centred card with a form; `onSubmit(data)` may throw to show its message.
 * @param {HTMLElement} main
 * @param {object} card
 * @param {string} card.title
 * @param {string} [card.intro]
 * @param {import("./dom.js").Child} card.fields
 * @param {string} card.submit
 * @param {Parameters<typeof asyncForm>[2]} card.onSubmit
 * @param {import("./dom.js").Child} card.footer
 */
function authCard(main, { title, intro, fields, submit, onSubmit, footer }) {
  const form = asyncForm(fields, submit, onSubmit, { wide: true });
  fill(
    main,
    h(
      "section.card.auth",
      {},
      h("h1", {}, title),
      intro ? h("p.muted", {}, intro) : null,
      form,
      footer ? h("div.auth-footer", {}, footer) : null,
    ),
  );
  form.querySelector("input")?.focus();
  return form;
}

/**
 * A card with a message in place of a form, and the way back to logging in.
 * @param {HTMLElement} main
 * @param {string} title
 * @param {string} message
 */
function notice(main, title, message) {
  fill(
    main,
    h(
      "section.card.auth",
      {},
      h("h1", {}, title),
      h("p", {}, message),
      h("a", { href: "#/login" }, "Go to log in"),
    ),
  );
}

/**
 * @param {string} password
 * @param {string} confirm
 */
function checkPassword(password, confirm) {
  if (password.length < MIN_PASSWORD) {
    throw new Error(`The password must have at least ${MIN_PASSWORD} characters.`);
  }
  if (password !== confirm) throw new Error("The two passwords differ.");
}

/**
 * {mailServiceEnabled, signupOpen}; the GET also gives the browser its CSRF cookie.
 * @returns {Promise<Pick<import("./api.js").Config, "mailServiceEnabled" | "signupOpen">>}
 */
async function serverConfig() {
  try {
    return await admin.config();
  } catch {
    return { mailServiceEnabled: false, signupOpen: true };
  }
}

/**
 * @param {HTMLElement} main
 * @param {PageParams} params
 */
export async function login(main, { query }) {
  const config = await serverConfig();
  authCard(main, {
    title: "Log in",
    intro: query.get("confirmed")
      ? "Your email address is confirmed. Log in to start."
      : query.get("reset")
        ? "Your password is changed. Log in with the new one."
        : "Sign in to manage your face services.",
    fields: [
      field("Email", { name: "email", type: "email", autocomplete: "username", required: true }),
      field("Password", {
        name: "password",
        type: "password",
        autocomplete: "current-password",
        required: true,
      }),
    ],
    submit: "Log in",
    onSubmit: async ({ email, password }) => {
      if (!email || !password) throw new Error("Enter your email and password.");
      await admin.login(email.trim(), password);
      await refreshUser();
      go();
    },
    footer: [
      config.signupOpen ? h("a", { href: "#/sign-up" }, "Create an account") : null,
      config.mailServiceEnabled ? h("a", { href: "#/forgot-password" }, "Forgot password?") : null,
    ],
  });
}

/** @param {HTMLElement} main */
export async function signUp(main) {
  const config = await serverConfig();
  if (!config.signupOpen) {
    notice(
      main,
      "Sign-up is closed",
      "Ask an administrator of this server to create an account for you.",
    );
    return;
  }
  authCard(main, {
    title: "Sign up",
    intro: "The first account becomes the owner of this facegate server.",
    fields: [
      h(
        "div.row",
        {},
        field("First name", { name: "firstName", autocomplete: "given-name", maxlength: 50 }),
        field("Last name", { name: "lastName", autocomplete: "family-name", maxlength: 50 }),
      ),
      field("Email", { name: "email", type: "email", autocomplete: "email" }),
      field("Password", {
        name: "password",
        type: "password",
        autocomplete: "new-password",
        minlength: MIN_PASSWORD,
      }),
      field("Confirm password", {
        name: "confirm",
        type: "password",
        autocomplete: "new-password",
      }),
    ],
    submit: "Create account",
    onSubmit: async ({ firstName, lastName, email, password, confirm }) => {
      if (!firstName.trim() || !lastName.trim()) throw new Error("Enter your first and last name.");
      if (!EMAIL.test(email.trim())) throw new Error("Enter a valid email address.");
      checkPassword(password, confirm);
      const user = { firstName: firstName.trim(), lastName: lastName.trim(), email: email.trim() };
      const { confirmationRequired } = await admin.register({ ...user, password });
      if (confirmationRequired) {
        notice(
          main,
          "Confirm your email",
          `We sent a confirmation link to ${user.email}. Open it, then log in.`,
        );
        return;
      }
      await admin.login(user.email, password);
      await refreshUser();
      go();
    },
    footer: [h("span.muted", {}, "Already registered?"), h("a", { href: "#/login" }, "Log in")],
  });
}

/** @param {HTMLElement} main */
export async function forgotPassword(main) {
  await serverConfig();
  authCard(main, {
    title: "Forgot password",
    intro: "We will email you a link to choose a new password. It works once, for a short time.",
    fields: [field("Email", { name: "email", type: "email", autocomplete: "email" })],
    submit: "Send the link",
    onSubmit: async ({ email }, form) => {
      if (!EMAIL.test(email.trim())) throw new Error("Enter a valid email address.");
      await admin.forgotPassword(email.trim());
      fill(
        form,
        h("p.success", { role: "status" }, `If ${email} has an account, a link is on its way.`),
      );
    },
    footer: [h("a", { href: "#/login" }, "Back to log in")],
  });
}

/**
 * @param {HTMLElement} main
 * @param {PageParams} params
 */
export async function resetPassword(main, { query }) {
  await serverConfig();
  const token = query.get("token") || "";
  authCard(main, {
    title: "Choose a new password",
    fields: [
      field("New password", { name: "password", type: "password", autocomplete: "new-password" }),
      field("Confirm password", {
        name: "confirm",
        type: "password",
        autocomplete: "new-password",
      }),
    ],
    submit: "Save password",
    onSubmit: async ({ password, confirm }) => {
      if (!token) throw new Error("This link has no token. Ask for a new one.");
      checkPassword(password, confirm);
      await admin.resetPassword(token, password);
      window.location.hash = "#/login?reset=1";
    },
    footer: [h("a", { href: "#/forgot-password" }, "Ask for a new link")],
  });
}
