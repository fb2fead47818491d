"""facegate.db.session: engines, pragmas, and Alembic migrations on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, inspect, text

from facegate.config import Settings
from facegate.db.session import alembic_config, create_db_engine, session_factory, upgrade
from facegate.db.tables import Base


def test_migrations_create_exactly_the_tables(db_engine: Engine) -> None:
    with db_engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
        assert differences == []  # tables.py and the migrations describe the same schema
        tables = set(inspect(connection).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables


def test_upgrade_reaches_head_and_is_repeatable(settings: Settings) -> None:
    upgrade(settings)
    upgrade(settings)
    engine = create_db_engine(settings)
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    with engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head
    engine.dispose()


def test_first_revision_is_0001(db_engine: Engine) -> None:
    script = ScriptDirectory.from_config(alembic_config(db_engine))
    assert script.get_revision("0001").down_revision is None


def test_concurrent_upgrades_do_not_collide(db_url: str, tmp_path: Path) -> None:
    # Two processes starting at once (two servers on one database) both run the migrations.
    env = {key: value for key, value in os.environ.items() if not key.startswith("FACEGATE_")}
    env["FACEGATE_DATABASE_URL"] = db_url
    command = ["facegate", "db", "upgrade", "--data-dir", str(tmp_path / "data")]
    (tmp_path / "data").mkdir()
    runs = [subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    for run in runs:
        _, stderr = run.communicate(timeout=120)
        assert run.returncode == 0, stderr


def test_sqlite_pragmas_are_on_for_every_connection(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "new" / "dir", database_url=None)
    engine = create_db_engine(settings)
    upgrade(engine)
    assert (tmp_path / "new" / "dir" / "facegate.db").is_file()  # folder created on demand
    for _ in range(2):
        with engine.connect() as connection:
            assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
            assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
            assert connection.execute(text("PRAGMA busy_timeout")).scalar() == 30_000
        engine.dispose()  # the next round opens a fresh connection


def test_foreign_keys_cascade(db_engine: Engine) -> None:
    with session_factory(db_engine).begin() as s:
        s.execute(
            text("INSERT INTO applications (guid, name, created_at) VALUES ('g', 'a', :t)"),
            {"t": "2024-01-01"},
        )
        app_id = s.execute(text("SELECT id FROM applications")).scalar_one()
        s.execute(
            text(
                "INSERT INTO services (guid, app_id, name, type, api_key, version, created_at) "
                "VALUES ('s', :app, 'n', 'recognition', 'k', 0, :t)"
            ),
            {"app": app_id, "t": "2024-01-01"},
        )
        s.execute(text("DELETE FROM applications"))
        assert s.execute(text("SELECT count(*) FROM services")).scalar_one() == 0


def test_foreign_keys_are_enforced(db_engine: Engine) -> None:
    from sqlalchemy.exc import IntegrityError

    with pytest.raises(IntegrityError), session_factory(db_engine).begin() as s:
        s.execute(text("INSERT INTO subjects (service_id, name, name_key) VALUES (999, 'a', 'a')"))


def test_postgresql_urls_use_psycopg_3(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://u:p@db.example:5433/frs")
    engine = create_db_engine(settings)
    assert engine.dialect.driver == "psycopg"
    assert engine.url.render_as_string(hide_password=False) == (
        "postgresql+psycopg://u:p@db.example:5433/frs"
    )
    engine.dispose()


def test_stored_times_come_back_in_utc_on_every_database(db_engine: Engine) -> None:
    """One column type (tables.UtcDateTime): SQLite keeps no zone, yet every read is aware."""
    from datetime import UTC, datetime

    from facegate.db.session import session_factory
    from facegate.db.tables import ServerFlag

    moment = datetime(2026, 11, 29, 12, 30, tzinfo=UTC)
    with session_factory(db_engine).begin() as s:
        s.add(ServerFlag(name="clock", updated_at=moment))
    with session_factory(db_engine)() as s:
        stored = s.get(ServerFlag, "clock")
        assert stored is not None
        assert stored.updated_at == moment
        assert stored.updated_at.tzinfo is not None


def test_every_migration_keeps_the_collections_before_it(settings: Settings) -> None:
    """A database holding a collection at 0005, upgraded one revision at a time: no revision
    loses a row (on SQLite a batch migration copies a table and drops the original, which with
    foreign keys on would cascade to its children), and the copies keep their foreign keys."""
    engine = create_db_engine(settings)
    upgrade(engine, "0005")
    now = {"t": "2024-01-01"}
    with session_factory(engine).begin() as s:
        s.execute(
            text("INSERT INTO applications (guid, name, created_at) VALUES ('g', 'a', :t)"), now
        )
        s.execute(
            text(
                "INSERT INTO services (guid, app_id, name, type, api_key, version, created_at) "
                "SELECT 's', id, 'n', 'recognition', 'k', 0, :t FROM applications"
            ),
            now,
        )
        for name in ("Ann", "Bob"):
            s.execute(
                text(
                    "INSERT INTO subjects (service_id, name, name_key) "
                    "SELECT id, :n, :k FROM services"
                ),
                {"n": name, "k": name.lower()},
            )
        s.execute(
            text(
                "INSERT INTO examples (id, subject_id, embedding, calculator, created_at) "
                "SELECT 'e-' || name, id, :e, 'c', :t FROM subjects"
            ),
            {"e": b"\0" * 8} | now,
        )
    counted = ("services", "subjects", "examples")

    def counts() -> list[int]:
        with engine.connect() as connection:
            return [
                connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                for table in counted
            ]

    assert counts() == [1, 2, 2]
    script = ScriptDirectory.from_config(alembic_config(engine))
    later = [r.revision for r in script.walk_revisions("0006", "head")][::-1]
    for revision in later:
        upgrade(engine, revision)
        assert counts() == [1, 2, 2], f"rows lost by migration {revision}"
    with session_factory(engine).begin() as s:
        s.execute(text("DELETE FROM applications"))
    assert counts() == [0, 0, 0]
    engine.dispose()
