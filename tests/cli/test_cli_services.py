"""`facegate services` and `facegate db` through the installed command, on SQLite and PostgreSQL."""

from __future__ import annotations

import subprocess
import uuid
from pathlib import Path

import pytest
from sqlalchemy import inspect

from facegate import face_services
from facegate.admin import applications
from facegate.admin.roles import Role
from facegate.collection import store
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory
from facegate.db.tables import User
from facegate.errors import NameNotUnique
from tests.support.clients import Browser, ok, refused
from tests.support.commands import facegate
from tests.support.servers import serve


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


def test_service_names_differ_by_more_than_case_on_every_path(
    db_url: str, tmp_path: Path, settings: Settings
) -> None:
    """One rule (face_services' own check) for the CLI and the admin layer alike."""
    data_dir = tmp_path / "data"
    create = ("services", "create", "--type", "recognition", "--app", "Shop")
    assert facegate(*create, "--name", "Faces", data_dir=data_dir, db_url=db_url).returncode == 0
    again = facegate(*create, "--name", "faces", data_dir=data_dir, db_url=db_url)
    assert (again.returncode, again.stderr.strip()) == (1, "Name faces is not unique")
    engine = create_db_engine(settings)
    try:
        with session_factory(engine).begin() as s:
            owner = User(email="o@example.org", first_name="O", last_name="W", password_hash="x")
            owner.global_role = Role.OWNER
            s.add(owner)
            s.flush()
            app = face_services.find_application(s, name="Shop")
            assert app is not None
            standing = applications.Access(app, owner, Role.OWNER)
            # The admin path refuses the CLI's name in another case...
            with pytest.raises(NameNotUnique, match="Name FACES is not unique"):
                applications.create_service(s, standing=standing, name="FACES", type="detection")
            # ...and the CLI refuses a name the admin path created.
            applications.create_service(s, standing=standing, name="Doors", type="detection")
        refused = facegate(*create, "--name", "DOORS", data_dir=data_dir, db_url=db_url)
        assert (refused.returncode, refused.stderr.strip()) == (1, "Name DOORS is not unique")
    finally:
        engine.dispose()


# Names every path refuses: (name, HTTP status, code). A service's name taken in another case
# is refused too (decisions.md C5.2).
BAD_SERVICE_NAMES = [("FACES", 400, 17), ("a;b", 400, 36), ("x" * 51, 400, 26), ("  ", 400, 5)]
BAD_APP_NAMES = [("a/b", 400, 36), ("x" * 51, 400, 26)]


def test_the_cli_and_the_admin_api_refuse_the_same_names(
    db_url: str, tmp_path: Path, settings: Settings
) -> None:
    """face_services checks every name itself (decisions.md D82): the admin API's create, rename
    and clone, `facegate services create` and `facegate import` refuse a bad or taken name with
    one message, the CLI with exit status 1 and nothing created."""
    empty = tmp_path / "photos"
    empty.mkdir()

    def cli(*args: str) -> str:
        result = facegate(*args, data_dir=settings.data_dir, db_url=db_url)
        assert (result.returncode, result.stdout) == (1, ""), result.stderr
        return result.stderr.strip()

    with serve(settings) as url:
        b = Browser(url)
        try:
            ok(b.sign_up("owner@example.com"), 201)
            ok(b.login("owner@example.com"))
            app = ok(b.post("/admin/app", {"name": "Shop"}), 201)
            models = f"/admin/app/{app['id']}/model"
            faces = ok(b.post(models, {"name": "Faces", "type": "recognition"}), 201)
            doors = ok(b.post(models, {"name": "Doors", "type": "recognition"}), 201)
            for name, status, code in BAD_SERVICE_NAMES:
                message = refused(b.post(models, {"name": name, "type": "detection"}), status, code)
                rename = b.put(f"{models}/{doors['id']}", {"name": name})
                assert refused(rename, status, code) == message
                clone = b.post(f"{models}/{faces['id']}", {"name": name})
                assert refused(clone, status, code) == message
                create = ("services", "create", "--type", "detection", "--app", "Shop")
                assert cli(*create, "--name", name) == message, name
                if code in (17, 36):  # the import's own path: a lookup, then the creation
                    imported = cli("import", str(empty), "--service", name, "--app", "Shop")
                    assert imported == message
            for name, status, code in BAD_APP_NAMES:
                message = refused(b.post("/admin/app", {"name": name}), status, code)
                rename = b.put(f"/admin/app/{app['id']}", {"name": name})
                assert refused(rename, status, code) == message
                create = ("services", "create", "--type", "detection", "--name", "d")
                assert cli(*create, "--app", name) == message, name
            names = [service["name"] for service in ok(b.get(f"{models}s"))]
        finally:
            b.close()
    assert names == ["Doors", "Faces"]
    listed = facegate("services", "list", data_dir=settings.data_dir, db_url=db_url)
    assert len(listed.stdout.splitlines()) == 3  # the header and the two services
