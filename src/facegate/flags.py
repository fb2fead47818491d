"""Server flags: named locks in the database that every process sees (the /migrate lock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from facegate.db.tables import ServerFlag

MIGRATION_FLAG = "migration"
# A migration refreshes its flag after every example; one silent this long died with its process.
FLAG_STALE_AFTER = timedelta(minutes=5)


def flag_is_set(s: Session, *, name: str) -> bool:
    """Whether the flag is held and its holder was alive within FLAG_STALE_AFTER."""
    updated = s.scalar(select(ServerFlag.updated_at).where(ServerFlag.name == name))
    if updated is None:
        return False
    if updated.tzinfo is None:  # SQLite returns naive datetimes
        updated = updated.replace(tzinfo=UTC)
    return datetime.now(UTC) - updated < FLAG_STALE_AFTER


def take_flag(s: Session, *, name: str) -> bool:
    """Set the flag unless a live holder has it; False when someone else holds it."""
    if flag_is_set(s, name=name):
        return False
    s.execute(delete(ServerFlag).where(ServerFlag.name == name))
    s.add(ServerFlag(name=name, updated_at=datetime.now(UTC)))
    s.flush()  # a second process inserting at once fails here on the primary key
    return True


def refresh_flag(s: Session, *, name: str) -> None:
    s.execute(
        update(ServerFlag).where(ServerFlag.name == name).values(updated_at=datetime.now(UTC))
    )


def drop_flag(s: Session, *, name: str) -> None:
    s.execute(delete(ServerFlag).where(ServerFlag.name == name))
