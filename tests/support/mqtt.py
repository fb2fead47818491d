"""Messages read back from an MQTT broker (the local Mosquitto by default), for the tests of
what facegate publishes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.support.services import require_broker

BROKER = ("127.0.0.1", 1883)


@contextmanager
def subscribed(
    topic: str, broker: tuple[str, int] = BROKER, login: tuple[str, str] | None = None
) -> Iterator[list[mqtt.MQTTMessage]]:
    """Messages of `topic` (wildcards allowed) as they arrive, subscribed at QoS 1."""
    require_broker(broker)
    messages: list[mqtt.MQTTMessage] = []
    ready = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if login is not None:
        client.username_pw_set(*login)
    client.on_message = lambda _client, _userdata, message: messages.append(message)
    client.on_subscribe = lambda *_: ready.set()
    client.on_connect = lambda c, *_: c.subscribe(topic, qos=1)
    client.connect(*broker)
    client.loop_start()
    try:
        assert ready.wait(30), "the broker did not confirm the subscription"
        yield messages
    finally:
        client.disconnect()
        client.loop_stop()


def forget_retained(topics: list[str], broker: tuple[str, int] = BROKER) -> None:
    """Clear what a test left retained on the shared broker (an empty retained message)."""
    require_broker(broker)
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.connect(*broker)
    client.loop_start()
    try:
        for topic in topics:
            client.publish(topic, b"", qos=1, retain=True).wait_for_publish(30)
    finally:
        client.disconnect()
        client.loop_stop()
