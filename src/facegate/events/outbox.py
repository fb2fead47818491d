"""The outbox: events written in the transaction of what caused them, one delivery per sink.

A write calls `publish` before it commits; when the transaction rolls back, its events go with
it, and once it commits they wait in the database until `facegate.events.worker` delivers
them, whatever happens to the process in between.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facegate.db.session import bulk_write
from facegate.db.tables import (
    Delivery,
    OutboxEvent,
    Service,
    Webhook,
    new_uuid,
    utcnow,
)
from facegate.engine.similarity import recognised

FACE_RECOGNIZED = "face.recognized"
FACE_UNRECOGNIZED = "face.unrecognized"
SUBJECT_ADDED = "subject.added"
SUBJECT_RENAMED = "subject.renamed"
SUBJECT_DELETED = "subject.deleted"
EXAMPLE_ADDED = "example.added"
EXAMPLE_DELETED = "example.deleted"
# Set aside from search and restored (the gallery check, decisions.md D65).
EXAMPLE_SET_ASIDE = "example.set_aside"
EXAMPLE_RESTORED = "example.restored"
# "This face is not that subject", recorded and undone (decisions.md D66).
REJECTION_ADDED = "rejection.added"
REJECTION_DELETED = "rejection.deleted"
# A Frigate person event, recognised over its snapshots (docs/frigate.md).
FRIGATE_RECOGNIZED = "frigate.recognized"
FRIGATE_UNRECOGNIZED = "frigate.unrecognized"
TYPES = (
    FACE_RECOGNIZED,
    FACE_UNRECOGNIZED,
    SUBJECT_ADDED,
    SUBJECT_RENAMED,
    SUBJECT_DELETED,
    EXAMPLE_ADDED,
    EXAMPLE_DELETED,
    EXAMPLE_SET_ASIDE,
    EXAMPLE_RESTORED,
    REJECTION_ADDED,
    REJECTION_DELETED,
    FRIGATE_RECOGNIZED,
    FRIGATE_UNRECOGNIZED,
)

# The lane of MQTT deliveries: one per service, so a service's messages keep their order.
MQTT_LANE = "mqtt:"
HOOK_LANE = "hook:"
# Set in a session that wrote events, so the worker is woken when it commits.
WRITTEN = "facegate.events_written"


def face_event(
    *, box: dict[str, Any], subject: str | None, similarity: float | None, threshold: float | None
) -> tuple[str, dict[str, Any]]:
    """The event of one face of a recognition: its best match (if any) and its box."""
    known = subject is not None and recognised(similarity, threshold=threshold)
    data = {"subject": subject, "similarity": similarity, "box": box}
    return (FACE_RECOGNIZED if known else FACE_UNRECOGNIZED), data


def receives(hook: Webhook, type: str) -> bool:
    """Whether the hook asked for events of this type (no types named: every type)."""
    return not hook.event_types or type in hook.event_types.split()


def publish(s: Session, *, service: Service, events: Sequence[tuple[str, dict[str, Any]]]) -> None:
    """Write events of `service` (type, data) for every sink that wants them; nothing when no
    webhook and no MQTT listens, so a service without sinks pays one query."""
    if not events:
        return
    hooks = list(
        s.scalars(
            select(Webhook)
            .where(Webhook.service_id == service.id, Webhook.enabled)
            .order_by(Webhook.id)
        )
    )
    if not hooks and not service.mqtt_events:
        return
    application = service.application  # from the session's identity map once loaded
    for type, data in events:
        sinks = [hook for hook in hooks if receives(hook, type)]
        if not sinks and not service.mqtt_events:
            continue
        guid, now = new_uuid(), utcnow()
        body = {
            "id": guid,
            "type": type,
            "time": now.isoformat(),
            "service": {"id": service.guid, "name": service.name},
            "application": {"id": application.guid, "name": application.name},
            "data": data,
        }
        event = OutboxEvent(
            guid=guid, service_id=service.id, type=type, body=json.dumps(body), created_at=now
        )
        s.add(event)
        s.flush()  # the event's id, which orders the deliveries
        for hook in sinks:
            s.add(_delivery(event, lane=f"{HOOK_LANE}{hook.id}", webhook_id=hook.id))
        if service.mqtt_events:
            s.add(_delivery(event, lane=f"{MQTT_LANE}{service.id}", webhook_id=None))
        s.info[WRITTEN] = True
    s.flush()


def _delivery(event: OutboxEvent, *, lane: str, webhook_id: int | None) -> Delivery:
    return Delivery(
        event_id=event.id,
        service_id=event.service_id,
        webhook_id=webhook_id,
        lane=lane,
        state="pending",
        attempts=0,
        next_attempt_at=event.created_at,
    )


@dataclass(frozen=True)
class DeliveryView:
    """A delivery as the admin API shows it."""

    id: int
    event_id: str
    type: str
    sink: str  # webhook | mqtt
    webhook_id: str | None
    url: str | None
    state: str
    attempts: int
    status_code: int | None
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    updated_at: datetime


def recent_deliveries(s: Session, *, service: Service, limit: int = 50) -> list[DeliveryView]:
    """The service's latest deliveries, newest first, with what their last attempt answered."""
    rows = s.execute(
        select(Delivery, OutboxEvent.guid, OutboxEvent.type, OutboxEvent.created_at, Webhook)
        .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
        .outerjoin(Webhook, Webhook.id == Delivery.webhook_id)
        .where(Delivery.service_id == service.id)
        .order_by(Delivery.id.desc())
        .limit(limit)
    )
    return [
        DeliveryView(
            id=delivery.id,
            event_id=event_guid,
            type=type,
            sink="webhook" if hook is not None else "mqtt",
            webhook_id=hook.guid if hook is not None else None,
            url=hook.url if hook is not None else None,
            state=delivery.state,
            attempts=delivery.attempts,
            status_code=delivery.status_code,
            error=delivery.error,
            next_attempt_at=delivery.next_attempt_at if delivery.state == "pending" else None,
            created_at=created_at,
            updated_at=delivery.updated_at,
        )
        for delivery, event_guid, type, created_at, hook in rows
    ]


def prune(s: Session, *, before: datetime) -> int:
    """Forget events written before `before` that wait for no delivery any more (their
    deliveries go with them, ON DELETE CASCADE); returns how many."""
    waiting = select(Delivery.event_id).where(Delivery.state == "pending")
    return bulk_write(
        s,
        delete(OutboxEvent).where(OutboxEvent.created_at < before, OutboxEvent.id.not_in(waiting)),
    )
