"""The outbox and its worker on both databases: nothing written for a service nobody listens
to, workers sharing one outbox each send a delivery once and in order, a claim left by a dead
worker is taken over, old events are forgotten, backoff doubles to its cap; the signature
and the MQTT topics."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.collection import store
from facegate.db.session import create_db_engine, session_factory, upgrade
from facegate.db.tables import Delivery, OutboxEvent, Service, utcnow
from facegate.events import hooks, outbox
from facegate.events.sinks import signature, topic
from facegate.events.worker import DeliveryWorker
from tests.support.receiver import FAST, Receiver, wait_for
from tests.support.servers import free_port


def _service(s: Session, name: str = "door") -> Service:
    app = face_services.default_application(s)
    return face_services.create_service(s, app=app, name=name, type="recognition")


def test_no_sink_no_event(s: Session) -> None:
    service = _service(s)
    store.create_subject(s, service=service, name="ann")
    vector = np.ones(128, dtype=np.float32)
    store.add_example(
        s, service=service, subject="ann", embedding=vector, calculator="c", image=None
    )
    assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 0
    service.mqtt_events = True
    store.delete_subject(s, service=service, name="ann")
    assert list(s.scalars(select(Delivery.lane))) == [f"mqtt:{service.id}"]


def test_old_events_are_forgotten_once_nothing_waits_for_them(s: Session) -> None:
    service = _service(s)
    service.mqtt_events = True
    for name in ("ann", "bob", "cy"):
        store.create_subject(s, service=service, name=name)
    ann, bob, cy = s.scalars(select(Delivery).order_by(Delivery.id))
    ann.state, bob.state = "delivered", "failed"
    s.flush()
    assert outbox.prune(s, before=utcnow() - timedelta(days=1)) == 0  # none old enough
    assert outbox.prune(s, before=utcnow() + timedelta(seconds=1)) == 2
    assert list(s.scalars(select(Delivery.id))) == [cy.id]  # still waiting: kept
    assert s.scalar(select(func.count()).select_from(OutboxEvent)) == 1


def test_workers_sharing_the_outbox_send_each_delivery_once_in_service_order(
    make_settings: Callable[..., Any],
) -> None:
    settings = make_settings(**FAST)
    upgrade(settings)
    engine = create_db_engine(settings)
    sessions = session_factory(engine)
    port = free_port()
    url = f"http://127.0.0.1:{port}/"
    with sessions() as s, s.begin():
        services = [_service(s, "door"), _service(s, "gate")]
        for service in services:
            hooks.add(s, service=service, url=url, event_types=[], enabled=True)
    for n in range(15):  # the two services' writes interleaved, each in its own transaction
        for service in services:
            with sessions() as s, s.begin():
                # The service as stored now: merging the stale copy would write its old version.
                current = s.get(Service, service.id)
                assert current is not None
                store.create_subject(s, service=current, name=f"person {n}")
    with sessions() as s, s.begin():
        # A claim left by a worker that died: once its lease has run out, it is taken over.
        first = s.scalar(select(func.min(Delivery.id)))
        s.execute(
            update(Delivery)
            .where(Delivery.id == first)
            .values(claimed_by="gone:1", claimed_until=utcnow() - timedelta(seconds=1))
        )
    workers = [DeliveryWorker(sessions, settings) for _ in range(3)]
    with Receiver(port) as receiver:
        for worker in workers:
            worker.start()
        try:
            wait_for(lambda: len(receiver.received) >= 30, "thirty deliveries")
        finally:
            for worker in workers:
                worker.stop()
    for service in services:
        subjects = [
            r.event["data"]["subject"]
            for r in receiver.received
            if r.event["service"]["name"] == service.name
        ]
        assert subjects == [f"person {n}" for n in range(15)]
    with sessions() as s:
        assert set(s.scalars(select(Delivery.state))) == {"delivered"}
        assert set(s.scalars(select(Delivery.claimed_by))) == {None}
    engine.dispose()


def test_backoff_doubles_up_to_the_cap(make_settings: Callable[..., Any]) -> None:
    settings = make_settings(events_retry_initial_seconds=2, events_retry_max_seconds=60)
    engine = create_db_engine(settings)
    worker = DeliveryWorker(session_factory(engine), settings)
    waits = [worker.backoff(n).total_seconds() for n in range(1, 8)]
    assert waits == [2, 4, 8, 16, 32, 60, 60]
    engine.dispose()


def test_signature_and_topics() -> None:
    body = b'{"id": "1"}'
    digest = hmac.new(b"secret", body, hashlib.sha256).hexdigest()
    assert signature("secret", body) == f"sha256={digest}"
    assert topic("fg", "door", outbox.FACE_RECOGNIZED) == "fg/door/recognized"
    assert topic("fg", "a+b#c%d", outbox.SUBJECT_ADDED) == "fg/a%2Bb%23c%25d/subject/added"
