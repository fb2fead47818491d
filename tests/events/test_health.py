"""Sinks that cannot deliver are seen (docs/decisions.md D57): MQTT switched on without a
broker or with its broker down, a failing webhook, deliveries given up; in /healthz's
`events`, in /metrics and in the admin config the dashboard reads."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.collection import store
from facegate.db.tables import Delivery, Service
from facegate.events import hooks
from facegate.events.health import sink_health
from tests.api.test_metrics import scrape, value
from tests.support.clients import SUBJECTS, running_api
from tests.support.receiver import FAST, wait_for
from tests.support.servers import free_port


def _service(s: Session) -> Service:
    app = face_services.default_application(s)
    return face_services.create_service(s, app=app, name="door", type="recognition")


def test_nothing_switched_on_is_healthy(s: Session) -> None:
    store.create_subject(s, service=_service(s), name="ann")
    health = sink_health(s, mqtt=None)
    assert health.body() == {"status": "OK", "waiting": {"webhook": 0, "mqtt": 0}, "problems": []}


def test_mqtt_switched_on_without_a_broker(s: Session) -> None:
    service = _service(s)
    service.mqtt_events = True
    store.create_subject(s, service=service, name="ann")
    store.create_subject(s, service=service, name="bob")
    health = sink_health(s, mqtt=None)
    assert health.waiting == {"webhook": 0, "mqtt": 2}
    assert health.problems == [
        "MQTT events are on for 1 service, but this server has no MQTT broker "
        "(FACEGATE_MQTT_URL is not set): 2 deliveries waiting"
    ]
    # With a broker connected, the same deliveries are simply on their way.
    assert sink_health(s, mqtt="connected").problems == []
    down = sink_health(s, mqtt="not connected to the MQTT broker: Not authorized")
    assert down.problems == [
        "MQTT: not connected to the MQTT broker: Not authorized: 2 deliveries waiting"
    ]


def test_failing_webhooks_and_given_up_deliveries(s: Session) -> None:
    service = _service(s)
    hooks.add(s, service=service, url="http://127.0.0.1:9/x", event_types=[], enabled=True)
    for name in ("ann", "bob", "cy"):
        store.create_subject(s, service=service, name=name)
    assert sink_health(s, mqtt=None).problems == []  # not tried yet: nothing wrong known
    first, second, _ = s.scalars(select(Delivery).order_by(Delivery.id))
    first.state, first.attempts = "failed", 15
    second.attempts = 2
    s.flush()
    assert sink_health(s, mqtt=None).problems == [
        "1 webhook failed to take 1 delivery (waiting for a retry; the service's dashboard "
        "lists the errors)",
        "1 delivery failed every attempt in the last 24 hours and will not be sent",
    ]


def test_mqtt_without_a_broker_shows_in_healthz_metrics_and_the_dashboard(
    make_settings: Callable[..., Any], face_engine: Any, faces_dir: Path
) -> None:
    with running_api(make_settings(**FAST), face_engine, faces_dir) as api:
        assert api.client.get("/healthz").json()["events"]["status"] == "OK"
        with api.session() as s:
            api.service(s).mqtt_events = True
        created = api.request("POST", SUBJECTS, json={"subject": "ann"})
        assert created.status_code == 201, created.text
        health = api.client.get("/healthz")
        samples = scrape(api.url)
        config = api.client.get("/admin/config").json()
    assert health.status_code == 200  # facegate itself is well: the sink is not
    events = health.json()["events"]
    assert events["status"] == "failing"
    assert events["waiting"] == {"webhook": 0, "mqtt": 1}
    assert "FACEGATE_MQTT_URL is not set" in events["problems"][0]
    assert value(samples, "facegate_event_deliveries_waiting", sink="mqtt") == 1
    assert value(samples, "facegate_event_sink_problems") == 1
    assert config["eventProblems"] == events["problems"]


def test_a_broker_that_does_not_answer_is_reported(
    make_settings: Callable[..., Any], face_engine: Any, faces_dir: Path
) -> None:
    settings = make_settings(mqtt_url=f"mqtt://127.0.0.1:{free_port()}", **FAST)
    with running_api(settings, face_engine, faces_dir) as api:
        with api.session() as s:
            api.service(s).mqtt_events = True
        assert api.request("POST", SUBJECTS, json={"subject": "ann"}).status_code == 201

        def problems() -> list[str]:
            found: list[str] = api.client.get("/healthz").json()["events"]["problems"]
            return found

        wait_for(lambda: bool(problems()), "the broker's problem")
        assert problems() == ["MQTT: not connected to the MQTT broker: 1 delivery waiting"]
