"""`facegate services` and `facegate db` through the installed command, on SQLite and PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import inspect

from facegate import face_services, store
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory


def facegate(*args: str, data_dir: Path, db_url: str | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("FACEGATE_")}
    if db_url is not None:
        env["FACEGATE_DATABASE_URL"] = db_url
    return subprocess.run(
        ["facegate", *args, "--data-dir", str(data_dir)],
        env=env,
        cwd=tempfile.gettempdir(),  # away from the repository's .env, if any
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_create_prints_the_key_alone_and_list_shows_it(
    db_url: str, tmp_path: Path, settings: Settings
) -> None:
    data_dir = tmp_path / "data"
    created = facegate(
        "services", "create", "--type", "recognition", "--name", "Front door",
        data_dir=data_dir, db_url=db_url,
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    assert created.stdout == key + "\n" and str(uuid.UUID(key)) == key

    engine = create_db_engine(settings)
    with session_factory(engine).begin() as s:
        service = face_services.service_by_key(s, api_key=key, type="recognition")
        assert service is not None and service.name == "Front door"
        assert service.application.name == face_services.DEFAULT_APPLICATION
        store.add_example(
            s, service=service, subject="Ann", embedding=[1.0, 0.0], calculator="c", image=None
        )
    engine.dispose()

    listed = facegate("services", "list", data_dir=data_dir, db_url=db_url)
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == ["APPLICATION", "NAME", "TYPE", "API", "KEY", "SUBJECTS", "EXAMPLES"]
    assert row.split() == ["Default", "application", "Front", "door", "recognition", key, "1", "1"]


def test_create_in_a_named_application(db_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    keys = []
    for kind in ("detection", "verification"):
        result = facegate(
            "services", "create", "--type", kind, "--name", kind, "--app", "Shop",
            data_dir=data_dir, db_url=db_url,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        keys.append(result.stdout.strip())
    assert keys[0] != keys[1]
    rows = facegate("services", "list", data_dir=data_dir, db_url=db_url).stdout.splitlines()[1:]
    assert [row.split()[:3] for row in rows] == [
        ["Shop", "detection", "detection"],
        ["Shop", "verification", "verification"],
    ]


def test_create_refuses_bad_input(db_url: str, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"

    def create(*args: str) -> subprocess.CompletedProcess[str]:
        return facegate("services", "create", *args, data_dir=data_dir, db_url=db_url)

    assert create("--type", "recognition", "--name", "a").returncode == 0
    duplicate = create("--type", "detection", "--name", "a")
    assert duplicate.returncode == 1 and duplicate.stdout == ""
    assert "Name a is not unique" in duplicate.stderr
    bad_name = create("--type", "recognition", "--name", "a;b")
    assert bad_name.returncode == 1 and "special characters" in bad_name.stderr
    bad_type = create("--type", "nonsense", "--name", "b")
    assert bad_type.returncode == 2 and bad_type.stdout == ""
    listed = facegate("services", "list", data_dir=data_dir, db_url=db_url)
    assert len(listed.stdout.splitlines()) == 2  # header and the one good service


def test_db_upgrade_creates_the_schema(db_url: str, tmp_path: Path, settings: Settings) -> None:
    result = facegate("db", "upgrade", data_dir=tmp_path / "data", db_url=db_url)
    assert result.returncode == 0, result.stderr
    assert "Database is up to date" in result.stdout
    engine = create_db_engine(settings)
    with engine.connect() as connection:
        assert {"services", "subjects", "examples", "alembic_version"} <= set(
            inspect(connection).get_table_names()
        )
    engine.dispose()


def test_sqlite_goes_to_the_data_dir_by_default(tmp_path: Path) -> None:
    data_dir = tmp_path / "somewhere" / "data"
    result = facegate(
        "services", "create", "--type", "detection", "--name", "d", data_dir=data_dir, db_url=None
    )
    assert result.returncode == 0, result.stderr
    assert (data_dir / "facegate.db").is_file()
    listed = facegate("services", "list", data_dir=data_dir, db_url=None)
    assert result.stdout.strip() in listed.stdout
