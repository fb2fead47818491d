"""Whether the switched-on event sinks can deliver, read from the outbox: /healthz, /metrics,
the web UI's dashboard and `facegate doctor` report it, so that a sink that cannot deliver is
seen instead of its deliveries waiting unnoticed (docs/decisions.md D57)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from facegate.db.tables import Delivery, Service, Webhook, utcnow
from facegate.events.sinks import CONNECTED

# Failed deliveries older than this no longer count as a problem of now.
RECENT = timedelta(hours=24)


@dataclass(frozen=True)
class SinkHealth:
    """Deliveries waiting per sink (webhook, mqtt) and each problem as a sentence."""

    waiting: dict[str, int]
    problems: list[str] = field(default_factory=list)

    def body(self) -> dict[str, object]:
        """As /healthz and the admin API answer it."""
        return {
            "status": "failing" if self.problems else "OK",
            "waiting": self.waiting,
            "problems": self.problems,
        }


def _plural(count: int, noun: str) -> str:
    """`1 delivery`, `2 deliveries`, `2 webhooks`."""
    if count == 1:
        return f"{count} {noun}"
    return f"{count} {noun[:-1]}ies" if noun.endswith("y") else f"{count} {noun}s"


def sink_health(s: Session, *, mqtt: str | None) -> SinkHealth:
    """`mqtt`: None when this server has no broker (mqtt_url not set), else CONNECTED or why
    its connection is down."""
    sink = case((Delivery.webhook_id.is_(None), "mqtt"), else_="webhook")
    waiting = {"webhook": 0, "mqtt": 0}
    for name, count in s.execute(
        select(sink, func.count()).where(Delivery.state == "pending").group_by(sink)
    ):
        waiting[name] = count
    problems = []
    mqtt_services = s.scalar(select(func.count()).where(Service.mqtt_events)) or 0
    if mqtt is None and (mqtt_services or waiting["mqtt"]):
        problems.append(
            f"MQTT events are on for {_plural(mqtt_services, 'service')}, but this server has "
            "no MQTT broker (FACEGATE_MQTT_URL is not set): "
            f"{_plural(waiting['mqtt'], 'delivery')} waiting"
        )
    elif mqtt is not None and mqtt != CONNECTED and (mqtt_services or waiting["mqtt"]):
        problems.append(f"MQTT: {mqtt}: {_plural(waiting['mqtt'], 'delivery')} waiting")
    failing = s.execute(
        select(func.count(func.distinct(Delivery.webhook_id)), func.count())
        .join(Webhook, Webhook.id == Delivery.webhook_id)
        .where(Delivery.state == "pending", Delivery.attempts > 0, Webhook.enabled)
    ).one()
    if failing[0]:
        problems.append(
            f"{_plural(failing[0], 'webhook')} failed to take {_plural(failing[1], 'delivery')} "
            "(waiting for a retry; the service's dashboard lists the errors)"
        )
    failed = s.scalar(
        select(func.count()).where(
            Delivery.state == "failed", Delivery.updated_at > utcnow() - RECENT
        )
    )
    if failed:
        problems.append(
            f"{_plural(failed, 'delivery')} failed every attempt in the last 24 hours and "
            "will not be sent"
        )
    return SinkHealth(waiting, problems)
