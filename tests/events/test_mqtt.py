"""MQTT end to end: a service's events read back from the local Mosquitto broker, on the real
engine and both databases, under topics made of the service's name."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from facegate import face_services
from tests.support.clients import running_api
from tests.support.receiver import FAST, wait_for

BROKER = ("127.0.0.1", 1883)


@contextmanager
def subscribed(topic: str) -> Iterator[list[mqtt.MQTTMessage]]:
    """Messages of `topic` (wildcards allowed) as they arrive, subscribed at QoS 1."""
    messages: list[mqtt.MQTTMessage] = []
    ready = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _client, _userdata, message: messages.append(message)
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(*BROKER)
    client.loop_start()
    try:
        assert ready.wait(30), "the broker did not confirm the subscription"
        yield messages
    finally:
        client.disconnect()
        client.loop_stop()


def test_events_are_published_to_the_broker(
    make_settings: Callable[..., Any], face_engine: Any, faces_dir: Path
) -> None:
    prefix = f"facegate-test-{uuid.uuid4().hex}"
    settings = make_settings(mqtt_url="mqtt://127.0.0.1:1883", mqtt_topic_prefix=prefix, **FAST)
    with running_api(settings, face_engine, faces_dir) as api, subscribed(f"{prefix}/#") as got:
        with api.session() as s:
            service = api.service(s)
            # `+` and `#` are MQTT's wildcards: the topic carries them percent-encoded.
            face_services.rename_service(s, service=service, name="front door +#")
            service.mqtt_events = True
        assert api.add("obama", "fr_obama.jpg").status_code == 201
        assert api.recognize("fr_obama2.jpg").status_code == 200
        wait_for(lambda: len(got) >= 3, "three messages")
    level = f"{prefix}/front door %2B%23"
    assert [message.topic for message in got] == [
        f"{level}/subject/added",
        f"{level}/example/added",
        f"{level}/recognized",
    ]
    assert all(message.qos == 1 for message in got)
    recognized = json.loads(got[2].payload)
    assert recognized["type"] == "face.recognized"
    assert recognized["data"]["subject"] == "obama" and recognized["data"]["similarity"] > 0.5
    assert recognized["service"]["name"] == "front door +#"
