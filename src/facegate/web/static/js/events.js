// @ts-check
// The service's events section: MQTT's switch, its webhooks, and their recent deliveries.

import { admin } from "./api.js";
import {
  h,
  fill,
  asyncForm,
  field,
  confirmDialog,
  copyable,
  localTime,
  table,
  toast,
} from "./dom.js";

/** @typedef {import("./api.js").Webhook} Webhook */
/** @typedef {import("./api.js").Delivery} Delivery */
/** @typedef {import("./api.js").FrigateStatus} FrigateStatus */
/** @typedef {import("./service.js").ServiceContext} ServiceContext */

/**
 * What the last attempt of a delivery answered: the HTTP status, or the error.
 * @param {Delivery} d
 */
function answer(d) {
  if (d.statusCode !== null && d.state === "delivered") return String(d.statusCode);
  return d.error ?? "";
}

/**
 * The Frigate companion's links, a failing one marked (docs/frigate.md): an unreachable
 * Frigate must be seen, never silent.
 * @param {FrigateStatus} status
 */
function frigateLinks(status) {
  if (status.mqtt === null) {
    return h("p.muted", {}, "The server's Frigate companion runs in another of its workers.");
  }
  const broker = status.mqtt === "connected";
  const api = status.api === "reachable" || status.api === "not called yet";
  const last = status.lastEvent ? `, the last ${localTime(status.lastEvent)}` : "";
  const line = (/** @type {boolean} */ ok, /** @type {string} */ text) =>
    h(ok ? "li" : "li.error", {}, text);
  return h(
    "ul.frigate-status",
    {},
    line(broker, `MQTT broker: ${status.mqtt}`),
    line(status.frigate !== "offline", `Frigate says: ${status.frigate}`),
    line(api, `Frigate's API (${status.url}): ${status.api}`),
    h("li", {}, `Events handled: ${status.events}${last}`),
  );
}

/** @param {string} cameras */
function cameraList(cameras) {
  return cameras ? cameras.split(",").join(", ") : "every camera";
}

/**
 * Events of the service to other systems (docs/events.md). Those who may not edit services
 * see the webhooks and deliveries, without the controls.
 * @param {ServiceContext} ctx
 */
export function eventsSection({ app, service }) {
  const canEdit = app.canEditServices;
  const hooksBox = h("div.webhooks");
  const deliveriesBox = h("div.deliveries");
  const secretBox = h("div.webhook-secret");

  async function drawHooks() {
    const hooks = await admin.webhooks(app.id, service.id);
    fill(
      hooksBox,
      table(
        ["URL", "Events", "State", ""],
        hooks.map((hook) => [
          hook.url,
          hook.events.length ? hook.events.join(" ") : "all",
          hook.enabled ? "on" : "off",
          canEdit ? hookControls(hook) : "",
        ]),
        "No webhook yet.",
      ),
    );
  }

  /** @param {Webhook} hook */
  function hookControls(hook) {
    const toggle = async () => {
      try {
        await admin.setWebhookEnabled(app.id, service.id, hook.id, !hook.enabled);
        await drawHooks();
      } catch (err) {
        toast(/** @type {Error} */ (err).message, "error");
      }
    };
    const remove = async () => {
      if (!(await confirmDialog("Delete webhook", `Delete the webhook to ${hook.url}?`))) return;
      try {
        await admin.deleteWebhook(app.id, service.id, hook.id);
        await Promise.all([drawHooks(), drawDeliveries()]);
      } catch (err) {
        toast(/** @type {Error} */ (err).message, "error");
      }
    };
    return h(
      "div.row-actions",
      {},
      h("button", { type: "button", onclick: toggle }, hook.enabled ? "Switch off" : "Switch on"),
      h("button.danger", { type: "button", onclick: remove }, "Delete"),
    );
  }

  async function drawDeliveries() {
    const deliveries = await admin.deliveries(app.id, service.id);
    fill(
      deliveriesBox,
      table(
        ["Time", "Event", "To", "State", "Attempts", "Answer", "Next attempt"],
        deliveries.map((d) => [
          localTime(d.createdDate),
          d.type,
          d.sink === "mqtt" ? "MQTT" : (d.url ?? ""),
          d.state,
          String(d.attempts),
          answer(d),
          localTime(d.nextAttemptAt),
        ]),
        "No event delivered yet.",
      ),
    );
  }

  const addForm = asyncForm(
    [
      field("Webhook URL", { name: "url", type: "url", required: true, placeholder: "https://" }),
      field("Event types (empty: all)", {
        name: "events",
        placeholder: "face.recognized subject.added",
      }),
    ],
    "Add webhook",
    async (values, form) => {
      const events = values.events.split(/[\s,]+/).filter(Boolean);
      const hook = await admin.addWebhook(app.id, service.id, values.url.trim(), events);
      form.reset();
      // The secret is shown this once: the receiver checks X-Facegate-Signature with it.
      fill(
        secretBox,
        h("p", {}, "Signing secret of the new webhook, shown only now:"),
        copyable(hook.secret ?? "", "Copy secret"),
      );
      await drawHooks();
    },
  );

  /** @param {Event} event */
  const switchMqtt = async (event) => {
    const box = /** @type {HTMLInputElement} */ (event.target);
    try {
      const changed = await admin.changeSettings(app.id, service.id, { mqttEvents: box.checked });
      service.mqttEvents = changed.mqttEvents;
      toast(service.mqttEvents ? "Events go to MQTT" : "No more events to MQTT");
    } catch (err) {
      toast(/** @type {Error} */ (err).message, "error");
      box.checked = service.mqttEvents;
    }
  };

  const frigateBox = h("div.frigate");

  async function drawFrigate() {
    const status = await admin.frigate(app.id, service.id);
    if (!status.configured) return;
    const takes = status.cameras !== null;
    let choice = null;
    if (status.byEnvironment) {
      const cameras = cameraList(status.cameras ?? "");
      choice = h("p", {}, `Takes the person events of ${cameras} (FACEGATE_FRIGATE_CAMERAS).`);
    } else if (canEdit) {
      choice = asyncForm(
        [
          h(
            "label.check",
            {},
            h("input", { type: "checkbox", name: "take", value: "yes", checked: takes }),
            " Recognise Frigate's person events",
          ),
          field("Frigate cameras (empty: every camera)", {
            name: "cameras",
            placeholder: "front_door, driveway",
            value: status.cameras ?? "",
          }),
        ],
        "Save Frigate cameras",
        async (values) => {
          const cameras = values.take ? values.cameras.trim() : null;
          service.frigateCameras = (
            await admin.changeSettings(app.id, service.id, { frigateCameras: cameras })
          ).frigateCameras;
          const saved = service.frigateCameras === null ? "No more Frigate events" : "Saved";
          toast(saved);
          await drawFrigate();
        },
      );
    } else if (takes) {
      choice = h("p", {}, `Takes the person events of ${cameraList(status.cameras ?? "")}.`);
    }
    fill(
      frigateBox,
      h(
        "div.title-row",
        {},
        h("h3", {}, "Frigate"),
        h("button", { type: "button", onclick: () => drawFrigate() }, "Refresh status"),
      ),
      h(
        "p.muted",
        {},
        "Frigate's person events recognised over their snapshots, the names written back as " +
          "sub-labels (docs/frigate.md).",
      ),
      choice,
      takes || status.byEnvironment ? frigateLinks(status) : null,
    );
  }

  const section = h(
    "section.card.events",
    {},
    h("h2", {}, "Events"),
    h(
      "p.muted",
      {},
      "Recognitions and collection changes, sent to webhooks (signed POSTs, retried until " +
        "they arrive) and to the server's MQTT broker.",
    ),
    h(
      "label.check",
      {},
      h("input", {
        type: "checkbox",
        name: "mqtt",
        checked: service.mqttEvents,
        disabled: !canEdit,
        onchange: switchMqtt,
      }),
      " Publish events to MQTT",
    ),
    frigateBox,
    h("h3", {}, "Webhooks"),
    hooksBox,
    canEdit ? [addForm, secretBox] : null,
    h(
      "div.title-row",
      {},
      h("h3", {}, "Recent deliveries"),
      h("button", { type: "button", onclick: () => drawDeliveries() }, "Refresh"),
    ),
    deliveriesBox,
  );
  Promise.all([drawHooks(), drawDeliveries(), drawFrigate()]).catch((err) =>
    toast(/** @type {Error} */ (err).message, "error"),
  );
  return section;
}
