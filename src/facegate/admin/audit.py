"""The audit trail: security-relevant actions with actor, time and client address."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, func, select
from sqlalchemy.orm import Session

from facegate.db.session import bulk_write
from facegate.db.tables import AuditEvent, Service, User, utcnow

# The actions recorded (docs/admin-api.md, "Audit trail").
LOGIN = "login"
LOGIN_FAILED = "login.failed"
USER_REGISTERED = "user.registered"
USER_CONFIRMED = "user.confirmed"
USER_CREATED = "user.created"
USER_DELETED = "user.deleted"
USER_ROLE = "user.role"
PASSWORD_CHANGED = "user.password"
PASSWORD_RESET = "user.password.reset"
APP_CREATED = "app.created"
APP_DELETED = "app.deleted"
MEMBER_ADDED = "app.member.added"
MEMBER_ROLE = "app.member.role"
MEMBER_REMOVED = "app.member.removed"
SERVICE_CREATED = "service.created"
SERVICE_DELETED = "service.deleted"
KEY_SHOWN = "service.apikey.shown"
KEY_REGENERATED = "service.apikey.regenerated"
WEBHOOK_CREATED = "webhook.created"
WEBHOOK_DELETED = "webhook.deleted"
SUBJECT_DELETED = "subject.deleted"
EXAMPLE_DELETED = "example.deleted"
MIGRATION_STARTED = "migration.started"

COLUMNS = ("id", "time", "action", "actorId", "actor", "address", "target", "detail")


@dataclass(frozen=True)
class Actor:
    """Who did it: a logged-in user, an API key's service, or the admin key."""

    id: str | None
    name: str | None
    address: str | None

    @classmethod
    def of(cls, user: User | None, address: str | None) -> Actor:
        if user is None:
            return cls(None, None, address)
        return cls(user.guid, user.email, address)

    @classmethod
    def of_service(cls, service: Service, address: str | None) -> Actor:
        """A face API request, made with the service's key (never written here)."""
        return cls(service.guid, f"API key of service {service.name}", address)


def record(
    s: Session, action: str, *, actor: Actor, target: str | None = None, **detail: Any
) -> None:
    """Add an entry to the transaction of the action, so it commits (or not) with it."""
    s.add(
        AuditEvent(
            at=utcnow(),
            action=action,
            actor_id=actor.id,
            actor=actor.name,
            address=actor.address,
            target=target,
            detail=json.dumps(detail, sort_keys=True) if detail else None,
        )
    )


def _matching(
    query: Select[Any], *, action: str | None, since: datetime | None, until: datetime | None
) -> Select[Any]:
    if action:
        # "login" also finds "login.failed": a prefix by dotted parts.
        query = query.where(
            (AuditEvent.action == action) | AuditEvent.action.startswith(f"{action}.")
        )
    if since is not None:
        query = query.where(AuditEvent.at >= _utc(since))
    if until is not None:
        query = query.where(AuditEvent.at < _utc(until))
    return query


def _utc(moment: datetime) -> datetime:
    """A bound as the column holds times: in UTC (SQLite compares them as text); a time
    without a zone is taken to be UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def page(
    s: Session,
    *,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    page: int = 0,
    size: int = 50,
) -> tuple[list[AuditEvent], int]:
    """One page of the entries, newest first, and how many match in all."""
    total = s.scalar(
        _matching(select(func.count(AuditEvent.id)), action=action, since=since, until=until)
    )
    entries = s.scalars(
        _matching(select(AuditEvent), action=action, since=since, until=until)
        .order_by(AuditEvent.id.desc())
        .offset(page * size)
        .limit(size)
    )
    return list(entries), total or 0


def as_dict(entry: AuditEvent) -> dict[str, Any]:
    return {
        "id": entry.id,
        "time": entry.at.isoformat(),
        "action": entry.action,
        "actorId": entry.actor_id,
        "actor": entry.actor,
        "address": entry.address,
        "target": entry.target,
        "detail": json.loads(entry.detail) if entry.detail else None,
    }


EXPORT_BATCH = 500


def export(
    s: Session,
    *,
    format: str,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Iterator[str]:
    """Every matching entry, oldest first, as JSON Lines or CSV (with a header line), read in
    batches so a long trail is never held in memory at once."""
    if format == "csv":
        yield _csv_line(COLUMNS)
    after = 0
    while True:
        batch = list(
            s.scalars(
                _matching(select(AuditEvent), action=action, since=since, until=until)
                .where(AuditEvent.id > after)
                .order_by(AuditEvent.id)
                .limit(EXPORT_BATCH)
            )
        )
        for entry in batch:
            row = as_dict(entry)
            if format == "csv":
                row["detail"] = entry.detail or ""
                yield _csv_line(tuple("" if row[c] is None else str(row[c]) for c in COLUMNS))
            else:
                yield json.dumps(row) + "\n"
        if len(batch) < EXPORT_BATCH:
            return
        after = batch[-1].id


def _csv_line(values: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(values)
    return out.getvalue()


def prune(s: Session, *, before: datetime) -> int:
    """Forget entries older than the retention; returns how many."""
    return bulk_write(s, delete(AuditEvent).where(AuditEvent.at < before))
