"""The delivery worker: one thread per server process sends the outbox's deliveries.

Each lane (a webhook, or one service's MQTT topics) goes out in order, one delivery at a time:
only the oldest pending delivery of a lane is due, so the next waits while it is retried. A
worker claims a delivery with a conditional UPDATE (it wins when the row was unclaimed or its
lease ran out: facegate.db.leases); a worker that dies mid-delivery leaves a lease that runs out,
and the delivery is sent again: at least once, with the event id for the receiver to drop
duplicates.
"""

from __future__ import annotations

import json
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from facegate.config import Settings
from facegate.db.leases import Poller, backoff, claim, holder
from facegate.db.session import bulk_write
from facegate.db.tables import Delivery, OutboxEvent, Service, Subject, Webhook, utcnow
from facegate.events import homeassistant
from facegate.events.outbox import HOOK_LANE, WRITTEN, prune
from facegate.events.sinks import MqttPublisher, Outcome, WebhookSender
from facegate.metrics import EVENT_DELIVERIES

log = logging.getLogger(__name__)

# Lanes sent at once by one process; a slow receiver holds only its own lane.
PARALLEL_LANES = 4
# Beyond the send's own timeout, how long a claim holds before another worker may take over.
LEASE_MARGIN = timedelta(seconds=60)
# How often a worker forgets events older than `events_retention_days` (every process does it;
# the deletes are idempotent).
PRUNE_EVERY = timedelta(minutes=10)


class DeliveryWorker(Poller):
    """Started in the app's lifespan, stopped at shutdown (facegate.db.leases.Poller)."""

    def __init__(self, sessions: sessionmaker[Session], settings: Settings) -> None:
        # Events this process writes go out at once, not at the next poll.
        super().__init__(
            sessions, name="facegate-events", every=settings.events_poll_seconds, written=WRITTEN
        )
        self._settings = settings
        self._me = holder()
        self._lease = timedelta(seconds=settings.webhook_timeout_seconds) + LEASE_MARGIN
        self._webhooks = WebhookSender(timeout=settings.webhook_timeout_seconds)
        # Home Assistant's entities, announced on every connection to the broker and every
        # PRUNE_EVERY (retained, so announcing again changes nothing), moved by deliveries.
        self._announce = threading.Event()
        self._announced: set[int] = set()  # services announced since the last connection
        self._discovery = (
            homeassistant.Discovery(
                discovery_prefix=settings.homeassistant_discovery_prefix,
                topic_prefix=settings.mqtt_topic_prefix,
                seen_seconds=round(settings.homeassistant_seen_minutes * 60),
            )
            if settings.homeassistant_discovery
            else None
        )
        self._mqtt = (
            MqttPublisher(
                settings.mqtt_url,
                prefix=settings.mqtt_topic_prefix,
                timeout=settings.webhook_timeout_seconds,
                on_connect=self._connected,
            )
            if settings.mqtt_url
            else None
        )
        self._pool = ThreadPoolExecutor(PARALLEL_LANES, thread_name_prefix="facegate-events")
        self._pruned_at = utcnow() - PRUNE_EVERY

    def mqtt_status(self) -> str | None:
        """None when this server has no broker, else `connected` or why not."""
        return None if self._mqtt is None else self._mqtt.status()

    def poll(self) -> int:
        self._prune()
        if self._announce.is_set():
            self._announce.clear()
            self.announce()
        return self.run_once()

    def _connected(self) -> None:
        if self._discovery is not None:
            self._announced.clear()
            self._announce.set()
            self._woken.set()

    def closing(self) -> None:
        """Finish the deliveries under way (each within the send timeout)."""
        self._pool.shutdown(wait=True)
        if self._mqtt is not None:
            self._mqtt.close()

    def _prune(self) -> None:
        now = utcnow()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        if self._discovery is not None:
            self._announce.set()
        before = now - timedelta(days=self._settings.events_retention_days)
        with self._sessions() as s, s.begin():
            prune(s, before=before)

    def announce(self, service_id: int | None = None) -> None:
        """Announce to Home Assistant every recognition service with MQTT events (or the one
        of `service_id`)."""
        if self._discovery is None or self._mqtt is None:
            return
        query = select(Service.id, Service.guid, Service.name).where(
            Service.mqtt_events, Service.type == "recognition"
        )
        if service_id is not None:
            query = query.where(Service.id == service_id)
        with self._sessions() as s:
            services = s.execute(query).all()
            subjects: dict[int, list[str]] = {}
            for service_id, name in s.execute(
                select(Subject.service_id, Subject.name)
                .where(Subject.service_id.in_([row.id for row in services]))
                .order_by(Subject.id)
            ):
                subjects.setdefault(service_id, []).append(name)
        for row in services:
            self._announced.add(row.id)
            messages = homeassistant.announce(
                self._discovery,
                service_guid=row.guid,
                service_name=row.name,
                subjects=subjects.get(row.id, []),
            )
            self._publish(messages)

    def _publish(self, messages: list[homeassistant.Message]) -> None:
        assert self._mqtt is not None
        for message in messages:
            outcome = self._mqtt.publish(message.topic, message.payload, retain=message.retain)
            if not outcome.delivered:  # announced again at the next connection
                log.info("Home Assistant discovery waits: %s", outcome.error)
                return

    def run_once(self) -> int:
        """Claim the due head of every lane and send them; returns how many were sent."""
        claimed = self._claim()
        list(self._pool.map(self._deliver, claimed))
        return len(claimed)

    def _claim(self) -> list[int]:
        now = utcnow()
        heads = (
            select(func.min(Delivery.id))
            .where(Delivery.state == "pending")
            .group_by(Delivery.lane)
            .scalar_subquery()
        )
        due = (
            select(Delivery.id)
            .outerjoin(Webhook, Webhook.id == Delivery.webhook_id)
            .where(
                Delivery.id.in_(heads),
                Delivery.next_attempt_at <= now,
                or_(Delivery.claimed_until.is_(None), Delivery.claimed_until < now),
                or_(Webhook.id.is_(None), Webhook.enabled),
            )
            .order_by(Delivery.id)
            .limit(PARALLEL_LANES * 4)
        )
        if self._mqtt is None:  # MQTT deliveries wait for a server that has a broker
            due = due.where(Delivery.lane.startswith(HOOK_LANE))
        with self._sessions() as s, s.begin():
            ids = s.scalars(due).all()
            return claim(s, Delivery, ids, holder=self._me, now=now, until=now + self._lease)

    def _deliver(self, delivery_id: int) -> None:
        with self._sessions() as s:
            row = s.execute(
                select(Delivery, OutboxEvent, Webhook, Service.name, Service.guid)
                .join(OutboxEvent, OutboxEvent.id == Delivery.event_id)
                .join(Service, Service.id == Delivery.service_id)
                .outerjoin(Webhook, Webhook.id == Delivery.webhook_id)
                .where(Delivery.id == delivery_id)
            ).one_or_none()
        if row is None:
            return  # its webhook or service was deleted meanwhile
        delivery, event, hook, service_name, service_guid = row
        body = event.body.encode()
        if hook is not None:
            sink = "webhook"
            outcome = self._webhooks.send(
                url=hook.url, secret=hook.secret, event_id=event.guid, type=event.type, body=body
            )
        elif self._mqtt is not None:
            sink = "mqtt"
            outcome = self._mqtt.send(service=service_name, type=event.type, body=body)
            if outcome.delivered and self._discovery is not None:
                # A service whose MQTT was switched on since the last announcement.
                if delivery.service_id not in self._announced:
                    self.announce(delivery.service_id)
                self._publish(
                    homeassistant.after(
                        self._discovery,
                        service_guid=service_guid,
                        service_name=service_name,
                        event=json.loads(body),
                    )
                )
        else:
            return  # not reached: `_claim` leaves MQTT lanes to a server with a broker
        self._record(delivery, outcome, sink)

    def _record(self, delivery: Delivery, outcome: Outcome, sink: str) -> None:
        attempts = delivery.attempts + 1
        now = utcnow()
        if outcome.delivered:
            state, retry_at, result = "delivered", now, "delivered"
        elif attempts >= self._settings.events_max_attempts:
            state, retry_at, result = "failed", now, "failed"
            log.warning(
                "giving up on delivery %d after %d attempts: %s",
                delivery.id,
                attempts,
                outcome.error,
            )
        else:
            state, retry_at, result = "pending", now + self.backoff(attempts), "retry"
        with self._sessions() as s, s.begin():
            bulk_write(
                s,
                update(Delivery)
                .where(Delivery.id == delivery.id, Delivery.claimed_by == self._me)
                .values(
                    state=state,
                    attempts=attempts,
                    next_attempt_at=retry_at,
                    claimed_by=None,
                    claimed_until=None,
                    status_code=outcome.status_code,
                    error=outcome.error,
                    updated_at=now,
                ),
            )
        EVENT_DELIVERIES.labels(sink, result).inc()

    def backoff(self, attempts: int) -> timedelta:
        """The wait after the `attempts`-th failure: doubling from the initial wait, capped."""
        return backoff(
            attempts,
            initial=self._settings.events_retry_initial_seconds,
            longest=self._settings.events_retry_max_seconds,
        )
