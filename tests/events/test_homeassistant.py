"""Home Assistant's MQTT discovery messages (events/homeassistant.py), checked against the
schema Home Assistant documents for MQTT discovery, the sensor and the binary sensor."""

from __future__ import annotations

import json
import re
from typing import Any

from facegate.events.homeassistant import Discovery, after, announce, node_id, subject_id

CONFIG = Discovery(discovery_prefix="homeassistant", topic_prefix="facegate", seen_seconds=600)
GUID = "5f0c2a1e-0000-4000-8000-000000000001"
# `<discovery_prefix>/<component>/[<node_id>/]<object_id>/config`, ids of [a-zA-Z0-9_-].
TOPIC = re.compile(r"^homeassistant/(sensor|binary_sensor)/[a-zA-Z0-9_-]+/[a-zA-Z0-9_-]+/config$")
# The documented keys of each component's discovery payload that facegate may send.
COMMON = {
    "name",
    "unique_id",
    "state_topic",
    "value_template",
    "json_attributes_topic",
    "icon",
    "device",
    "device_class",
}
KEYS = {
    "sensor": COMMON | {"unit_of_measurement", "expire_after", "force_update"},
    "binary_sensor": COMMON | {"payload_on", "payload_off", "off_delay", "expire_after"},
}
DEVICE = {"identifiers", "name", "manufacturer", "model", "sw_version", "configuration_url"}


def _configs(messages: list[Any]) -> dict[str, dict[str, Any]]:
    return {m.topic: json.loads(m.payload) for m in messages}


def test_announce_follows_the_discovery_schema() -> None:
    messages = announce(
        CONFIG, service_guid=GUID, service_name="Front door", subjects=["Ann Lee", "bob"]
    )
    assert all(m.retain for m in messages)
    configs = _configs(messages)
    node = node_id(GUID)
    assert list(configs) == [
        f"homeassistant/sensor/{node}/last_person/config",
        f"homeassistant/binary_sensor/{node}/seen_{subject_id('Ann Lee')}/config",
        f"homeassistant/binary_sensor/{node}/seen_{subject_id('bob')}/config",
    ]
    ids = set()
    for topic, body in configs.items():
        component = TOPIC.fullmatch(topic)
        assert component, topic
        assert set(body) <= KEYS[component.group(1)], set(body) - KEYS[component.group(1)]
        assert set(body["device"]) <= DEVICE and body["device"]["identifiers"] == [node]
        assert "+" not in body["state_topic"] and "#" not in body["state_topic"]
        ids.add(body["unique_id"])
    assert len(ids) == 3
    ann = configs[f"homeassistant/binary_sensor/{node}/seen_{subject_id('Ann Lee')}/config"]
    assert ann["device_class"] == "occupancy" and ann["off_delay"] == 600
    assert ann["state_topic"] == f"facegate/homeassistant/{GUID}/seen/{subject_id('Ann Lee')}"
    last = configs[f"homeassistant/sensor/{node}/last_person/config"]
    assert last["state_topic"] == f"facegate/homeassistant/{GUID}/last_person"


def test_subject_ids_are_ascii_and_tell_names_apart() -> None:
    assert re.fullmatch(r"ann_lee_[0-9a-f]{8}", subject_id("Ann Lee"))
    assert subject_id("Ann") != subject_id("ann")
    assert re.fullmatch(r"d_[0-9a-f]{8}", subject_id("Łódź/€"))
    assert re.fullmatch(r"[0-9a-f]{8}", subject_id("李"))


def test_a_recognition_sets_the_last_person_and_turns_the_subject_on() -> None:
    event = {
        "type": "frigate.recognized",
        "time": "2026-12-06T15:00:00+00:00",
        "data": {"subject": "bob", "similarity": 0.97, "camera": "door"},
    }
    last, seen = after(CONFIG, service_guid=GUID, service_name="Front door", event=event)
    assert (last.topic, last.retain) == (f"facegate/homeassistant/{GUID}/last_person", True)
    assert json.loads(last.payload) == {
        "subject": "bob",
        "similarity": 0.97,
        "camera": "door",
        "time": "2026-12-06T15:00:00+00:00",
    }
    assert (seen.topic, seen.payload, seen.retain) == (
        f"facegate/homeassistant/{GUID}/seen/{subject_id('bob')}",
        b"ON",
        False,
    )
    unknown = {"type": "face.unrecognized", "data": {"subject": "bob", "similarity": 0.2}}
    assert after(CONFIG, service_guid=GUID, service_name="Front door", event=unknown) == []


def test_subjects_added_renamed_and_deleted_change_the_entities() -> None:
    def changes(type: str, **data: Any) -> list[tuple[str, bool]]:
        messages = after(
            CONFIG, service_guid=GUID, service_name="d", event={"type": type, "data": data}
        )
        return [(m.topic.split("/")[3], m.payload == b"") for m in messages]

    assert changes("subject.added", subject="bob") == [(f"seen_{subject_id('bob')}", False)]
    assert changes("subject.renamed", subject="rob", previous="bob") == [
        (f"seen_{subject_id('bob')}", True),
        (f"seen_{subject_id('rob')}", False),
    ]
    assert changes("subject.deleted", subject="rob") == [(f"seen_{subject_id('rob')}", True)]
    assert changes("example.added", subject="rob") == []
