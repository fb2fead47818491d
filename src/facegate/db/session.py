"""The database engine, sessions, and schema migrations (Alembic, configured in code)."""

from __future__ import annotations

import fcntl
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import CursorResult, Delete, Engine, Update, create_engine, event, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from facegate.config import Settings
from facegate.db.tables import Guard, utcnow

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 30_000
# Any constant shared by every facegate process; serialises concurrent upgrades on PostgreSQL.
ADVISORY_LOCK_KEY = 0x0FACE6A7E


def create_db_engine(settings: Settings) -> Engine:
    """The engine for `settings.resolved_database_url`; creates the SQLite file's folder."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "sqlite":
        # A small pool per process: uvicorn workers each hold their own (CompreFace: Hikari 3).
        return create_engine(url, pool_size=5, max_overflow=10, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        if not Path(url.database).exists():
            # A command run in another folder would otherwise quietly start an empty database
            # beside the server's (./data by default): said on stderr, before it is made.
            log.warning(
                "facegate: no database at %s: creating a new one (to use a server's, set "
                "FACEGATE_DATA_DIR or --data-dir to its data directory)",
                url.database,
            )
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: object) -> None:
    # WAL lets readers in other processes run while one writes; foreign keys make ON DELETE
    # CASCADE work; the busy timeout makes a writer wait for another instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def bulk_write(s: Session, statement: Update | Delete) -> int:
    """Run a bulk UPDATE or DELETE without synchronising the session's objects (the caller
    does not hold the rows it changes) and return how many rows it changed."""
    result = s.execute(statement.execution_options(synchronize_session=False))
    assert isinstance(result, CursorResult)  # an UPDATE or DELETE always answers with one
    return result.rowcount


@contextmanager
def snapshot(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose reads all see one moment of the database, however long they take and
    whoever writes meanwhile: REPEATABLE READ on PostgreSQL, one read transaction on SQLite (the
    driver would otherwise end the transaction after each statement). Read-only: rolled back."""
    with sessions() as s:
        if s.get_bind().dialect.name == "postgresql":
            s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        else:
            s.execute(text("BEGIN"))  # WAL: the snapshot is taken at the first read after it
        try:
            yield s
        finally:
            s.rollback()


def serialise(s: Session, name: str) -> None:
    """Take the guard row `name` for the rest of the transaction: a check-then-write after it
    runs alone, across processes. The row is written first, so on SQLite the transaction holds
    the write lock from here (and its reads see every commit before it); on PostgreSQL another
    transaction asking for the row waits on its lock until this one ends. Objects read before
    must be refreshed by the caller."""
    taken = update(Guard).where(Guard.name == name).values(taken_at=utcnow())
    if bulk_write(s, taken) == 1:
        return
    try:
        with s.begin_nested():
            s.add(Guard(name=name, taken_at=utcnow()))
    except IntegrityError:  # another transaction inserted it first: wait for its lock
        bulk_write(s, taken)


def flush_unique(s: Session, taken: Exception) -> None:
    """Flush the pending rows; a unique constraint they break raises `taken` (the answer a
    check made before would have given, had another request not inserted the same between).
    The transaction is then lost (PostgreSQL aborts it): the caller's request ends there."""
    try:
        s.flush()
    except IntegrityError:
        raise taken from None


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions whose objects stay readable after commit (handlers return them afterwards)."""
    return sessionmaker(engine, expire_on_commit=False)


def alembic_config(engine: Engine) -> Config:
    """Alembic's configuration, built in code so no alembic.ini has to ship."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(target: Settings | Engine, revision: str = "head") -> None:
    """Bring the schema up to `revision`; safe to run at every start and from several processes
    at once (not from several threads of one process: Alembic's context is process-global)."""
    engine = create_db_engine(target) if isinstance(target, Settings) else target
    try:
        with exclusive(engine):
            command.upgrade(alembic_config(engine), revision)
    finally:
        if isinstance(target, Settings):
            engine.dispose()


@contextmanager
def exclusive(engine: Engine) -> Iterator[None]:
    """Hold a lock that every facegate process changing this database's schema takes."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield
        return
    # SQLite DDL is not transactional in Alembic, so a lock file beside the database serialises.
    with open(f"{database}.migrate-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
