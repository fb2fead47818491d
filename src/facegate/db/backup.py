"""Backups of the embedded SQLite database, taken while servers use it (SQLite's online backup).

PostgreSQL is backed up with its own tools (`pg_dump`), as docs/guide.md shows ("Import, export and
backups").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

from facegate.config import Settings
from facegate.db.session import BUSY_TIMEOUT_MS


def sqlite_file(settings: Settings) -> Path | None:
    """The database file of `settings`, or None when the database is not a SQLite file."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def copy(source: Path, target: Path) -> None:
    """Copy the database `source` to `target` (replaced only once the copy is complete and
    checked). All pages in one step, under one read transaction: in WAL mode writers go on
    meanwhile, and the copy is the database as of the step's start, every committed write in."""
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    origin, duplicate = _connect(source), _connect(partial)
    try:
        origin.backup(duplicate)
        if duplicate.execute("PRAGMA quick_check").fetchone() != ("ok",):
            partial.unlink()
            raise sqlite3.DatabaseError(f"the copy of {source} did not pass SQLite's quick_check")
    finally:
        duplicate.close()
        origin.close()
    # The copy is a database of its own now: no WAL file of the source's applies to it.
    for suffix in ("-wal", "-shm"):
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    partial.replace(target)


def _connect(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
