"""Requests counted per service and day, for the statistics CompreFace's UI shows: counted by
the face domain's use cases (recognition, verification, detection), read by the admin pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from facegate.db.tables import RequestStat, Service, utcnow


def count_request(s: Session, *, service: Service, day: date | None = None) -> None:
    """Add one to today's request count: a single upsert, safe from any number of processes."""
    day = day or utcnow().date()
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(RequestStat).values(service_id=service.id, day=day, count=1)
    s.execute(
        statement.on_conflict_do_update(
            index_elements=[RequestStat.service_id, RequestStat.day],
            set_={"count": RequestStat.count + 1},
        )
    )


def request_counts(s: Session, *, service: Service, since: date) -> list[tuple[date, int]]:
    """Requests per day from `since` on, oldest first; days without requests are absent."""
    rows = s.execute(
        select(RequestStat.day, RequestStat.count)
        .where(RequestStat.service_id == service.id, RequestStat.day >= since)
        .order_by(RequestStat.day)
    )
    return [(day, count) for day, count in rows]
