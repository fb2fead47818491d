"""Home Assistant's MQTT discovery: per recognition service, a sensor of the last person
recognised and a binary sensor per subject ("seen in the last N minutes"), and the state
messages that move them (docs/frigate.md, "Home Assistant").

Pure: services, subjects and delivered events in, MQTT messages out; the delivery worker
publishes them. Discovery messages follow Home Assistant's documented schema: the topic
`<discovery_prefix>/<component>/<node_id>/<object_id>/config` (ids of `[a-zA-Z0-9_-]`), a
retained JSON config naming `state_topic` and a `device`; an empty retained payload removes
an entity.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

RECOGNIZED = ("face.recognized", "frigate.recognized")
_NOT_ID = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes
    retain: bool


@dataclass(frozen=True)
class Discovery:
    """Where messages go: Home Assistant's discovery prefix, facegate's topic prefix (states
    live under `<prefix>/homeassistant/<service id>/...`), and how long "seen" lasts."""

    discovery_prefix: str
    topic_prefix: str
    seen_seconds: int


def node_id(service_guid: str) -> str:
    """The service's node: its id, which a rename does not change."""
    return "facegate_" + service_guid.replace("-", "")


def subject_id(subject: str) -> str:
    """A subject as an object id: its ASCII letters and digits, and a hash of the exact name
    (names differ in case and in characters this leaves out)."""
    readable = _NOT_ID.sub("_", subject.lower()).strip("_")[:40]
    digest = hashlib.sha256(subject.encode()).hexdigest()[:8]
    return f"{readable}_{digest}" if readable else digest


def _state(config: Discovery, service_guid: str, *parts: str) -> str:
    return "/".join((config.topic_prefix, "homeassistant", service_guid, *parts))


def _device(service_guid: str, service_name: str) -> dict[str, Any]:
    return {
        "identifiers": [node_id(service_guid)],
        "name": f"facegate {service_name}",
        "manufacturer": "facegate",
        "model": "recognition service",
    }


def _config(config: Discovery, component: str, service_guid: str, object_id: str) -> str:
    return f"{config.discovery_prefix}/{component}/{node_id(service_guid)}/{object_id}/config"


def announce(
    config: Discovery, *, service_guid: str, service_name: str, subjects: Iterable[str]
) -> list[Message]:
    """The service's entities: the last-person sensor and one binary sensor per subject."""
    device = _device(service_guid, service_name)
    node = node_id(service_guid)
    last = _state(config, service_guid, "last_person")
    sensor = {
        "name": "Last person",
        "unique_id": f"{node}_last_person",
        "state_topic": last,
        "value_template": "{{ value_json.subject }}",
        "json_attributes_topic": last,
        "icon": "mdi:face-recognition",
        "device": device,
    }
    messages = [_retained(_config(config, "sensor", service_guid, "last_person"), sensor)]
    messages += [_seen_sensor(config, service_guid, device, name) for name in subjects]
    return messages


def _seen_sensor(
    config: Discovery, service_guid: str, device: dict[str, Any], subject: str
) -> Message:
    object_id = f"seen_{subject_id(subject)}"
    sensor = {
        "name": f"{subject} seen",
        "unique_id": f"{node_id(service_guid)}_{object_id}",
        "state_topic": _state(config, service_guid, "seen", subject_id(subject)),
        "payload_on": "ON",
        "payload_off": "OFF",
        "device_class": "occupancy",
        # Home Assistant turns the sensor off itself this long after the last "ON".
        "off_delay": config.seen_seconds,
        "device": device,
    }
    return _retained(_config(config, "binary_sensor", service_guid, object_id), sensor)


def _retained(topic: str, body: dict[str, Any]) -> Message:
    return Message(topic, json.dumps(body).encode(), retain=True)


def removal(config: Discovery, *, service_guid: str, subject: str) -> Message:
    """The empty retained config that removes a subject's binary sensor."""
    object_id = f"seen_{subject_id(subject)}"
    return Message(_config(config, "binary_sensor", service_guid, object_id), b"", retain=True)


def after(
    config: Discovery, *, service_guid: str, service_name: str, event: dict[str, Any]
) -> list[Message]:
    """What a delivered event changes in Home Assistant: a recognition sets the last person
    (retained, so Home Assistant shows it after a restart) and turns the subject's sensor on
    (not retained: `off_delay` turns it off); subjects added, renamed and deleted change the
    entities."""
    type, data = event.get("type"), event.get("data") or {}
    subject = data.get("subject")
    if type in RECOGNIZED and isinstance(subject, str):
        state = {
            "subject": subject,
            "similarity": data.get("similarity"),
            "camera": data.get("camera"),
            "time": event.get("time"),
        }
        return [
            Message(_state(config, service_guid, "last_person"), json.dumps(state).encode(), True),
            Message(_state(config, service_guid, "seen", subject_id(subject)), b"ON", False),
        ]
    device = _device(service_guid, service_name)
    changed: list[Message] = []
    previous = data.get("previous")
    if type == "subject.renamed" and isinstance(previous, str):
        changed.append(removal(config, service_guid=service_guid, subject=previous))
    if type in ("subject.added", "subject.renamed") and isinstance(subject, str):
        changed.append(_seen_sensor(config, service_guid, device, subject))
    if type == "subject.deleted" and isinstance(subject, str):
        changed.append(removal(config, service_guid=service_guid, subject=subject))
    return changed
