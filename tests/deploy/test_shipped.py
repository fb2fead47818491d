"""deploy/'s files are the ones docs/deploy.md shows, the systemd unit passes systemd's own
check, and the environment file is settings facegate accepts."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from dotenv import dotenv_values

from facegate.config import Settings
from tests.support import REPO
from tests.support.proxies import DEPLOY, shipped
from tests.support.servers import FACEGATE, facegate_env
from tests.support.services import unavailable

SHIPPED = sorted(path.name for path in DEPLOY.iterdir())


def test_there_is_something_shipped() -> None:
    assert {"nginx.conf", "nginx-login-proxy.conf", "facegate.service", "facegate.env"} <= set(
        SHIPPED
    )


@pytest.mark.parametrize("name", SHIPPED)
def test_docs_show_each_shipped_file_as_it_is(name: str) -> None:
    assert (DEPLOY / name).read_text() in (REPO / "docs" / "deploy.md").read_text(), (
        f"docs/deploy.md must include deploy/{name} verbatim"
    )


def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd", "systemd-analyze is missing: apt-get install -y systemd")
    # The unit names the virtual environment of the deployment; here, this one's facegate.
    unit = tmp_path / "facegate.service"
    unit.write_text(shipped("facegate.service", {"/opt/facegate/bin/facegate": FACEGATE}))
    result = subprocess.run(
        [analyze, "verify", str(unit)], capture_output=True, text=True, timeout=120
    )
    complaints = [line for line in result.stderr.splitlines() if "facegate.service" in line]
    assert result.returncode == 0 and not complaints, result.stderr


def test_the_environment_file_is_settings_facegate_accepts(tmp_path: Path) -> None:
    values = dotenv_values(DEPLOY / "facegate.env")
    assert values["FACEGATE_ALLOW_SIGNUP"] == "false"
    settings = Settings(
        data_dir=tmp_path,
        **{name.removeprefix("FACEGATE_").lower(): value for name, value in values.items()},
    )
    assert settings.allow_signup is False
    assert [str(network) for network in settings.trusted_networks] == ["127.0.0.1/32", "::1/128"]
    assert settings.metrics_token is not None


@pytest.mark.postgres
def test_the_postgres_role_can_hold_facegate(tmp_path: Path) -> None:
    """deploy/postgres.sql on the test server (under names of the test's own): its role, owner
    of its database, creates facegate's tables there."""
    import psycopg
    from sqlalchemy.engine import make_url

    server = os.environ.get(
        "FACEGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
    )
    name = f"facegate_deploy_{uuid.uuid4().hex[:8]}"
    sql = shipped(
        "postgres.sql",
        {"ROLE facegate": f"ROLE {name}", "facegate OWNER facegate": f"{name} OWNER {name}"},
    )
    try:
        admin = psycopg.connect(server, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable("postgres", f"PostgreSQL is not reachable at {server} ({exc})")
    with admin:
        for statement in filter(str.strip, sql.split(";")):
            admin.execute(statement)
        try:
            url = make_url(server).set(username=name, password="CHANGE-ME", database=name)
            env = facegate_env(url.render_as_string(hide_password=False), tmp_path)
            upgraded = subprocess.run(
                [FACEGATE, "db", "upgrade"], env=env, capture_output=True, text=True, timeout=300
            )
            assert upgraded.returncode == 0, upgraded.stderr
            with psycopg.connect(
                url.render_as_string(hide_password=False).replace("+psycopg", "")
            ) as db:
                owners = db.execute(
                    "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname = 'public'"
                ).fetchall()
            assert owners == [(name,)]
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.execute(f'DROP ROLE IF EXISTS "{name}"')
