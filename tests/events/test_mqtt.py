"""MQTT end to end: a service's events read back from the local Mosquitto broker, on the real
engine and both databases, under topics made of the service's name."""

from __future__ import annotations

import getpass
import json
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from facegate import face_services
from facegate.db.tables import Delivery
from tests.support.clients import running_api
from tests.support.mqtt import subscribed
from tests.support.receiver import FAST, wait_for
from tests.support.servers import free_port
from tests.support.services import unavailable


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


@contextmanager
def broker_with_password(tmp_path: Path, user: str, password: str) -> Iterator[int]:
    """A Mosquitto of the test's own on a free port that refuses anonymous clients (the shared
    broker on 1883 takes anyone): what a Home Assistant or Frigate broker usually is."""
    if shutil.which("mosquitto_passwd") is None:
        unavailable("mqtt", "Debian's mosquitto is missing: apt-get install -y mosquitto")
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", str(passwords), user, password], check=True)
    port = free_port()
    config = tmp_path / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\n"
        # Started as root, mosquitto would switch to its own user, which cannot read the
        # test's private folder: it stays the user running the tests.
        f"persistence false\nuser {getpass.getuser()}\n"
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(config)], stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert broker.poll() is None, "mosquitto did not start"
                assert time.monotonic() < deadline, "mosquitto did not listen"
                time.sleep(0.05)
        yield port
    finally:
        broker.terminate()
        broker.wait(10)


def test_a_broker_that_wants_a_password(
    make_settings: Callable[..., Any], face_engine: Any, faces_dir: Path, tmp_path: Path
) -> None:
    """Credentials from the URL (percent-decoded): the right ones publish; wrong ones leave the
    service's MQTT deliveries waiting with the broker's refusal as their error, nothing lost."""
    login = ("facegate", "p@ss:word")
    with broker_with_password(tmp_path, *login) as port:
        url = f"mqtt://facegate:p%40ss%3Aword@127.0.0.1:{port}"
        settings = make_settings(mqtt_url=url, mqtt_topic_prefix="home", **FAST)
        broker = ("127.0.0.1", port)
        with (
            running_api(settings, face_engine, faces_dir) as api,
            subscribed("home/#", broker, login) as got,
        ):
            with api.session() as s:
                api.service(s).mqtt_events = True
            assert api.add("obama", "fr_obama.jpg").status_code == 201
            wait_for(lambda: len(got) >= 2, "two messages")
            keys = api.keys
        assert [json.loads(message.payload)["type"] for message in got] == [
            "subject.added",
            "example.added",
        ]

        wrong = make_settings(
            mqtt_url=f"mqtt://facegate:nope@127.0.0.1:{port}", mqtt_topic_prefix="home", **FAST
        )
        with running_api(wrong, face_engine, faces_dir, keys) as api:
            assert api.add("biden", "fr_biden.jpg").status_code == 201

            def refused() -> list[Delivery]:
                with api.session() as s:
                    deliveries = s.scalars(select(Delivery).where(Delivery.state != "delivered"))
                    return [d for d in deliveries if d.attempts > 0]

            wait_for(lambda: bool(refused()), "a refused attempt")
            errors = {d.error for d in refused() if d.state == "pending"}
            assert errors == {"not connected to the MQTT broker: Not authorized"}
