"""facegate.collection.flags on SQLite and PostgreSQL: one live holder per flag; a silent one
loses it."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from facegate.collection import flags
from facegate.db.leases import holder
from facegate.db.tables import ServerFlag


def test_a_flag_has_one_holder_until_dropped(s: Session) -> None:
    assert not flags.flag_is_set(s, name="job")
    assert flags.take_flag(s, name="job")
    assert flags.flag_is_set(s, name="job")
    assert not flags.take_flag(s, name="job")
    assert not flags.flag_is_set(s, name="other")
    flags.drop_flag(s, name="job")
    assert not flags.flag_is_set(s, name="job")
    assert flags.take_flag(s, name="job")


def test_a_silent_holder_loses_its_flag(s: Session) -> None:
    assert flags.take_flag(s, name=flags.MIGRATION_FLAG)
    silent = datetime.now(UTC) - flags.FLAG_STALE_AFTER - timedelta(seconds=1)
    s.execute(update(ServerFlag).values(updated_at=silent))
    assert not flags.flag_is_set(s, name=flags.MIGRATION_FLAG)
    flags.refresh_flag(s, name=flags.MIGRATION_FLAG)
    assert flags.flag_is_set(s, name=flags.MIGRATION_FLAG)
    s.execute(update(ServerFlag).values(updated_at=silent))
    assert flags.take_flag(s, name=flags.MIGRATION_FLAG)  # taken over from a dead process
    assert flags.flag_is_set(s, name=flags.MIGRATION_FLAG)


def test_a_dead_holder_on_this_host_loses_its_flag_at_once(s: Session) -> None:
    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead = f"{socket.gethostname()}:{int(finished.stdout)}"
    assert flags.take_flag(s, name="job")
    s.execute(update(ServerFlag).values(holder=dead))
    assert not flags.flag_is_set(s, name="job")  # refreshed just now, but its process is gone
    s.execute(update(ServerFlag).values(holder=f"other-host:{int(finished.stdout)}"))
    assert flags.flag_is_set(s, name="job")  # another host's process: only silence tells
    s.execute(update(ServerFlag).values(holder=holder()))
    assert flags.flag_is_set(s, name="job")
