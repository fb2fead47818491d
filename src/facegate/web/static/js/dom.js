// @ts-check
// DOM helpers shared by every page: element builders, toasts, dialogs, copy buttons.

/**
 * What an element may be given as children: text, numbers, nodes, lists of them; null,
 * undefined and false are skipped, so conditional parts can be written inline.
 * @typedef {string | number | Node | null | undefined | false} Leaf
 * @typedef {Leaf | Array<Leaf | Leaf[]>} Child
 */
/**
 * Attributes for `h`: "on…" keys take listeners, `dataset` and `style` take objects.
 * @typedef {Record<string, any>} Attrs
 */
/**
 * The tag of an `h` spec: "button" for "button.primary".
 * @template {string} S
 * @typedef {S extends `${infer T}.${string}` ? T : S} TagOf
 */
/**
 * The element type `h` builds for a spec: HTMLButtonElement for "button.primary".
 * @template {string} S
 * @typedef {TagOf<S> extends keyof HTMLElementTagNameMap
 *   ? HTMLElementTagNameMap[TagOf<S>] : HTMLElement} ElementOf
 */

/**
 * Build an element: h("button.primary", {onclick}, "Save").
 * Attributes starting with "on" become listeners; `dataset` and `style` objects are merged;
 * `maxlength` counts characters as the server does (see `limitCharacters`);
 * children may be strings, nodes, arrays, or null (skipped).
 * @template {string} S
 * @param {S} spec
 * @param {Attrs | null} [attrs]
 * @param {...Child} children
 * @returns {ElementOf<S>}
 */
export function h(spec, attrs = {}, ...children) {
  const [tag, ...classes] = spec.split(".");
  const el = document.createElement(tag || "div");
  if (classes.length) el.className = classes.join(" ");
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "maxlength") limitCharacters(/** @type {HTMLInputElement} */ (el), value);
    else if (key === "dataset" || key === "style") Object.assign(el[key], value);
    else if (key === "class") el.className += (el.className ? " " : "") + value;
    else if (key in el && typeof value !== "string") /** @type {any} */ (el)[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  append(el, children);
  return /** @type {ElementOf<S>} */ (el);
}

/**
 * At most `max` characters in the field, counted as code points, as the server counts names:
 * the browser's own `maxlength` counts UTF-16 units, so "👍" would take 2 of 50 and a valid
 * name could not be typed. Longer input stays visible and the form refuses it with a message.
 * @param {HTMLInputElement} input
 * @param {number} max
 */
function limitCharacters(input, max) {
  input.addEventListener("input", () => {
    const length = [...input.value].length;
    input.setCustomValidity(length > max ? `At most ${max} characters (${length} now)` : "");
  });
}

/**
 * Build an SVG element: svg("line", {x1, y1, x2, y2}); every attribute is set as it is.
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...Child} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = /** @type {SVGElement} */ (
    document.createElementNS("http://www.w3.org/2000/svg", tag)
  );
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  append(el, children);
  return el;
}

/**
 * @param {Element} el
 * @param {Array<Child>} children
 */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replace the children of `el`.
 * @template {Element} E
 * @param {E} el
 * @param {...Child} children
 * @returns {E}
 */
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/**
 * A short message at the bottom of the screen; errors stay longer.
 * @param {string} message
 * @param {"info" | "error"} [kind]
 */
export function toast(message, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h(`div.toast.${kind}`, {}, message);
  box.append(item);
  setTimeout(() => item.remove(), kind === "error" ? 8000 : 3500);
}

/**
 * A modal <dialog> holding a form. `fields` are nodes placed in the form; `onSubmit(formData)`
 * may throw (its message is shown in the dialog) or return a value that resolves the promise;
 * Cancel resolves it with undefined.
 * @template T
 * @param {object} options
 * @param {string} options.title
 * @param {Child} options.fields
 * @param {string} [options.submit]
 * @param {boolean} [options.danger]
 * @param {(data: FormData) => T | Promise<T>} options.onSubmit
 * @returns {Promise<T | undefined>}
 */
export function formDialog({ title, fields, submit = "Save", danger = false, onSubmit }) {
  return new Promise((resolve) => {
    const error = h("p.form-error", { role: "alert" });
    const button = h(`button.${danger ? "danger" : "primary"}`, { type: "submit" }, submit);
    const form = h(
      "form.dialog-form",
      { method: "dialog" },
      h("h2", {}, title),
      fields,
      error,
      h(
        "div.actions",
        {},
        h("button", { type: "button", onclick: () => close(undefined) }, "Cancel"),
        button,
      ),
    );
    const dialog = h("dialog.modal", {}, form);
    /** @param {T | undefined} value */
    const close = (value) => {
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    guardSubmit(form, button, error, async () => close(await onSubmit(new FormData(form))));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      close(undefined);
    });
    document.body.append(dialog);
    dialog.showModal();
    /** @type {HTMLElement | null} */ (form.querySelector("input, select"))?.focus();
  });
}

/**
 * A form's fields as {name: value}; the forms built here hold text fields only.
 * @param {FormData} data
 * @returns {Record<string, string>}
 */
export function formValues(data) {
  /** @type {Record<string, string>} */
  const values = {};
  data.forEach((value, name) => {
    values[name] = String(value);
  });
  return values;
}

/**
 * A form with its error line and submit button. `onSubmit(values, form)` gets the fields as an
 * object; what it throws is shown above the button, which is disabled meanwhile.
 * @param {Child} fields
 * @param {string} submit
 * @param {(values: Record<string, string>, form: HTMLFormElement) => Promise<void>} onSubmit
 * @param {{wide?: boolean}} [options]
 * @returns {HTMLFormElement}
 */
export function asyncForm(fields, submit, onSubmit, { wide = false } = {}) {
  const error = h("p.form-error", { role: "alert" });
  const button = h(`button.primary${wide ? ".wide" : ""}`, { type: "submit" }, submit);
  const form = h("form.stack", { novalidate: true }, fields, error, h("div.actions", {}, button));
  guardSubmit(form, button, error, () => onSubmit(formValues(new FormData(form)), form));
  return form;
}

/**
 * On submit, run `action` with `button` disabled; what it throws is shown in `error`.
 * @param {HTMLFormElement} form
 * @param {HTMLButtonElement} button
 * @param {HTMLElement} error
 * @param {() => Promise<unknown>} action
 */
function guardSubmit(form, button, error, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    // The forms leave checks to the server (novalidate), but for the fields' own length limit
    // (`limitCharacters`), which would otherwise only show as the server's refusal.
    const invalid = [...form.elements].find(
      (el) => el instanceof HTMLInputElement && el.validity.customError,
    );
    if (invalid instanceof HTMLInputElement) {
      error.textContent = invalid.validationMessage;
      return;
    }
    error.textContent = "";
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      error.textContent = /** @type {Error} */ (err).message;
    } finally {
      button.disabled = false;
    }
  });
}

/**
 * Ask a yes/no question; resolves true when confirmed.
 * @param {string} title
 * @param {string} message
 * @param {string} [submit]
 * @returns {Promise<boolean>}
 */
export async function confirmDialog(title, message, submit = "Delete") {
  const answer = await formDialog({
    title,
    fields: h("p", {}, message),
    submit,
    danger: true,
    onSubmit: () => true,
  });
  return answer === true;
}

/**
 * A labelled input for forms and dialogs.
 * @param {string} label
 * @param {Attrs} attrs
 */
export function field(label, attrs) {
  return h("label.field", {}, h("span", {}, label), h("input", attrs));
}

/**
 * A labelled number that may be left empty (null), handed to `onValue` when it changes; a value
 * the browser finds out of range is not, and `invalid` is shown instead.
 * @param {string} label
 * @param {{name?: string, min: number, max: number, step: number, placeholder: string,
 *   value: number | null | undefined, disabled: boolean, invalid: string}} options
 * @param {(value: number | null, input: HTMLInputElement) => void} onValue
 */
export function optionalNumberField(label, options, onValue) {
  const { name, min, max, step, placeholder, value, disabled, invalid } = options;
  return h(
    "label.field",
    {},
    h("span", {}, label),
    h("input", {
      type: "number",
      name,
      min: String(min),
      max: String(max),
      step: String(step),
      placeholder,
      value: String(value ?? ""),
      disabled,
      /** @param {Event} event */
      onchange: (event) => {
        const input = /** @type {HTMLInputElement} */ (event.target);
        if (!input.checkValidity()) {
          toast(invalid, "error");
          return;
        }
        onValue(input.value.trim() === "" ? null : Number(input.value), input);
      },
    }),
  );
}

/**
 * A <select> with [value, text] options, the one equal to `selected` chosen.
 * @param {Attrs} attrs
 * @param {[string, string][]} options
 * @param {string} selected
 */
export function select(attrs, options, selected) {
  return h(
    "select",
    attrs,
    options.map(([value, text]) => h("option", { value, selected: value === selected }, text)),
  );
}

/**
 * A labelled <select> for forms and dialogs.
 * @param {string} label
 * @param {string} name
 * @param {[string, string][]} options
 * @param {string} selected
 */
export function selectField(label, name, options, selected) {
  return h("label.field", {}, h("span", {}, label), select({ name }, options, selected));
}

/**
 * A button copying `text` (a string, or a function returning it) to the clipboard.
 * @param {string | (() => string)} text
 * @param {string} [label]
 */
export function copyButton(text, label = "Copy") {
  return h(
    "button.icon.copy",
    {
      type: "button",
      title: label,
      "aria-label": label,
      onclick: async () => {
        await copyText(typeof text === "function" ? text() : text);
        toast("Copied to clipboard");
      },
    },
    "Copy",
  );
}

/**
 * A code value with a button that copies it.
 * @param {string} value
 * @param {string} [label]
 */
export function copyable(value, label = "Copy") {
  return h("span.copyable", {}, h("code.copy-value", {}, value), copyButton(value, label));
}

/** @param {string} text */
async function copyText(text) {
  // navigator.clipboard exists only on secure origins; plain http on a LAN needs the fallback.
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  const area = h("textarea.offscreen", { readonly: true }, text);
  document.body.append(area);
  area.select();
  document.execCommand("copy");
  area.remove();
}

/**
 * A table with a header row; `rows` are arrays of cells (strings or nodes).
 * @param {string[]} headers
 * @param {Child[][]} rows
 * @param {string} [empty] what stands in for a table without rows
 */
export function table(headers, rows, empty = "Nothing here yet.") {
  if (!rows.length) return h("p.empty", {}, empty);
  return h(
    "div.table-wrap",
    {},
    h(
      "table",
      {},
      h(
        "thead",
        {},
        h(
          "tr",
          {},
          headers.map((text) => h("th", {}, text)),
        ),
      ),
      h(
        "tbody",
        {},
        rows.map((cells) =>
          h(
            "tr",
            {},
            cells.map((cell, i) => h("td", { "data-label": headers[i] }, cell)),
          ),
        ),
      ),
    ),
  );
}

/**
 * A search box calling `onInput(text)` as the user types.
 * @param {string} placeholder
 * @param {(text: string) => void} onInput
 */
export function searchBox(placeholder, onInput) {
  const box = h("input.search", {
    type: "search",
    placeholder,
    "aria-label": placeholder,
    oninput: () => onInput(box.value.trim().toLowerCase()),
  });
  return box;
}

/**
 * A stored time (ISO 8601) in the reader's zone and habits; empty for none.
 * @param {string | null} iso
 */
export function localTime(iso) {
  return iso ? new Date(iso).toLocaleString() : "";
}

/**
 * Human-readable byte count.
 * @param {number} n
 */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(0)} KB`;
  return `${(n / 1024 ** 2).toFixed(1)} MB`;
}
