"""Server flags: named locks in the database that every process sees (the /migrate lock)."""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from facegate.db import leases
from facegate.db.tables import ServerFlag, utcnow

MIGRATION_FLAG = "migration"
# A migration refreshes its flag after every example; one silent this long died with its process.
FLAG_STALE_AFTER = timedelta(minutes=5)


def holder_died(holder: str | None) -> bool:
    """Whether the holder was a process of this host that no longer runs."""
    host, _, pid = (holder or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False  # another host's process: only its silence tells
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it runs, as another user
    return False


def flag_is_set(s: Session, *, name: str) -> bool:
    """Whether the flag is held by a live holder: refreshed within FLAG_STALE_AFTER, and not a
    process of this host that has died (a killed `facegate migrate` is resumed at once)."""
    row = s.execute(
        select(ServerFlag.updated_at, ServerFlag.holder).where(ServerFlag.name == name)
    ).one_or_none()
    if row is None:
        return False
    updated, holder = row
    return utcnow() - updated < FLAG_STALE_AFTER and not holder_died(holder)


def take_flag(s: Session, *, name: str) -> bool:
    """Set the flag unless a live holder has it; False when someone else holds it."""
    if flag_is_set(s, name=name):
        return False
    s.execute(delete(ServerFlag).where(ServerFlag.name == name))
    s.add(ServerFlag(name=name, updated_at=utcnow(), holder=leases.holder()))
    s.flush()  # a second process inserting at once fails here on the primary key
    return True


def refresh_flag(s: Session, *, name: str) -> None:
    s.execute(update(ServerFlag).where(ServerFlag.name == name).values(updated_at=utcnow()))


def drop_flag(s: Session, *, name: str) -> None:
    s.execute(delete(ServerFlag).where(ServerFlag.name == name))
