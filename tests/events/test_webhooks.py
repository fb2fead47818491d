"""Webhooks end to end on the real engine, both databases and a real HTTP receiver: events wait
in the outbox while the receiver is down and across a restart of facegate, then every one
arrives, signed, in the order of its service's writes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from facegate.db.tables import Delivery, OutboxEvent
from facegate.events import hooks
from tests.api.test_metrics import delta, scrape
from tests.support.clients import Api, running_api, subject_path
from tests.support.receiver import FAST, Receiver, wait_for
from tests.support.servers import free_port


# Retries a few tenths of a second apart, so the test waits on events, not on backoff.
def _stranger(manifest: list[dict[str, Any]], enrolled: set[str]) -> str:
    return next(
        image["file"]
        for image in manifest
        if image["faces"] == 1 and image["people"] and not set(image["people"]) & enrolled
    )


def _collection_and_recognition(api: Api, stranger: str) -> None:
    """A write of each kind and two recognitions: one known face, one stranger."""
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    biden = api.add("biden", "fr_biden.jpg")
    assert biden.status_code == 201
    assert api.recognize("fr_obama2.jpg").status_code == 200
    assert api.recognize(stranger).status_code == 200
    renamed = api.request("PUT", subject_path("biden"), json={"subject": "joe"})
    assert renamed.status_code == 200, renamed.text
    gone = api.request("DELETE", f"/api/v1/recognition/faces/{biden.json()['image_id']}")
    assert gone.status_code == 200, gone.text
    assert api.request("DELETE", subject_path("obama")).status_code == 200


def _attempted(api: Api) -> bool:
    with api.session() as s:
        return bool(s.scalar(select(func.max(Delivery.attempts))))


def test_every_event_arrives_signed_in_order_across_a_restart(
    make_settings: Callable[..., Any],
    face_engine: Any,
    faces_dir: Path,
    manifest: list[dict[str, Any]],
) -> None:
    settings = make_settings(**FAST)
    port = free_port()  # nothing listens there yet: the receiver is down
    with running_api(settings, face_engine, faces_dir) as api:
        keys = api.keys
        before = scrape(api.url)
        with api.session() as s:
            hook = hooks.add(
                s,
                service=api.service(s),
                url=f"http://127.0.0.1:{port}/events",
                event_types=[],
                enabled=True,
            )
            secret = hook.secret
        _collection_and_recognition(api, _stranger(manifest, {"obama", "biden"}))
        wait_for(lambda: _attempted(api), "a failed first delivery")
    # facegate stopped with every event still pending; a new server takes over the outbox.
    with running_api(settings, face_engine, faces_dir, keys) as api:
        with api.session() as s:
            outbox = [
                (guid, type)
                for guid, type in s.execute(
                    select(OutboxEvent.guid, OutboxEvent.type).order_by(OutboxEvent.id)
                )
            ]
            assert s.scalar(select(func.count()).where(Delivery.state != "pending")) == 0
        with Receiver(port, failures=2) as receiver:
            wait_for(
                lambda: {r.event["id"] for r in receiver.received} >= {g for g, _ in outbox},
                "every event",
            )
            with api.session() as s:
                states = set(s.scalars(select(Delivery.state)))
        after = scrape(api.url)
    assert states == {"delivered"} and receiver.refused == 2

    metric = "facegate_event_deliveries_total"
    assert delta(before, after, metric, sink="webhook", outcome="delivered") == len(outbox)
    # At least the refused connection before the restart and the two 500s after it.
    assert delta(before, after, metric, sink="webhook", outcome="retry") >= 3
    assert [type for _, type in outbox] == [
        "subject.added",
        "example.added",
        "subject.added",
        "example.added",
        "face.recognized",
        "face.unrecognized",
        "subject.renamed",
        "example.deleted",
        "subject.deleted",
    ]
    first_arrivals: dict[str, bytes] = {}
    for received in receiver.received:
        expected = hmac.new(secret.encode(), received.body, hashlib.sha256).hexdigest()
        assert received.headers["X-Facegate-Signature"] == f"sha256={expected}"
        event_id = received.headers["X-Facegate-Event-Id"]
        assert event_id == received.event["id"]
        # A duplicate (at least once) carries the same id and the same body.
        assert first_arrivals.setdefault(event_id, received.body) == received.body
    assert list(first_arrivals) == [guid for guid, _ in outbox]
    events = [received.event for received in receiver.received]
    recognized = next(e for e in events if e["type"] == "face.recognized")
    assert recognized["data"]["subject"] == "obama" and recognized["data"]["similarity"] > 0.5
    assert set(recognized["data"]["box"]) >= {"x_min", "y_min", "x_max", "y_max"}
    unrecognized = next(e for e in events if e["type"] == "face.unrecognized")
    assert (unrecognized["data"]["similarity"] or 0) < 0.5
    renamed = next(e for e in events if e["type"] == "subject.renamed")
    assert renamed["data"] == {"subject": "joe", "previous": "biden", "merged": False}
    assert {e["service"]["name"] for e in events} == {"recognition"}
