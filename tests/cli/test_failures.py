"""The `facegate` command speaks plainly (docs/decisions.md D55): a mistake an operator can fix
is one line on stderr with its exit status (2 settings, 3 database, 4 models), never a
traceback; `serve` says where it listens and what it runs on; a command about to create a new
database says so; `facegate doctor` finds what to fix. All through the installed command."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.servers import FACEGATE, free_port

pytestmark = pytest.mark.slow
PHOTO = "fr_obama2.jpg"


def _env(tmp_path: Path, **settings: str) -> dict[str, str]:
    """The environment without any FACEGATE_* of the caller's, plus `settings`."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    return clean | {"FACEGATE_THREADS": "1"} | settings


def _run(
    *args: str | Path, tmp_path: Path, cwd: Path | None = None, **settings: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [FACEGATE, *map(str, args)],
        env=_env(tmp_path, **settings),
        cwd=cwd or tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _one_line(done: subprocess.CompletedProcess[str], status: int) -> str:
    """The single line on stderr of a command that ended with `status`."""
    assert done.returncode == status, done.stderr
    assert "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("facegate: ")
    return lines[0]


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("FACEGATE_MODEL", "foo", "expected dlib, insightface-s or insightface:<name>"),
        ("FACEGATE_MAX_FILE_SIZE", "lots", "expected a size in bytes, such as 5242880, 5MB"),
        ("FACEGATE_DEVICE", "tpu", "Input should be 'auto', 'cpu', 'cuda' or 'openvino'"),
    ],
)
def test_a_bad_setting_is_one_line_naming_it(
    tmp_path: Path, setting: str, value: str, says: str
) -> None:
    for command in (["services", "list"], ["serve"]):
        line = _one_line(_run(*command, tmp_path=tmp_path, **{setting: value}), 2)
        assert line.startswith(f"facegate: bad setting: {setting}={value!r}: {says}"), line
    assert not (tmp_path / "data").exists()  # refused before anything was created


def test_a_bad_option_is_one_line_too(tmp_path: Path, faces_dir: Path) -> None:
    line = _one_line(_run("detect", faces_dir / PHOTO, "--model", "foo", tmp_path=tmp_path), 2)
    assert "FACEGATE_MODEL='foo'" in line


def test_an_unreachable_database_is_one_line_without_its_password(tmp_path: Path) -> None:
    url = f"postgresql://facegate:hunter2@127.0.0.1:{free_port()}/frs"
    for command in (["services", "list"], ["serve"], ["db", "upgrade"]):
        line = _one_line(_run(*command, tmp_path=tmp_path, FACEGATE_DATABASE_URL=url), 3)
        assert line.startswith("facegate: the database cannot be used: ")
        assert "Connection refused" in line and "hunter2" not in line


def test_a_missing_model_is_one_line(tmp_path: Path, faces_dir: Path) -> None:
    missing = {"FACEGATE_MODEL": "insightface:nope", "FACEGATE_DATA_DIR": str(tmp_path / "d")}
    for command in (["detect", faces_dir / PHOTO], ["serve", "--port", str(free_port())]):
        line = _one_line(_run(*command, tmp_path=tmp_path, **missing), 4)
        assert "nope" in line and "does not exist" in line


def test_a_new_database_is_announced_and_the_data_dir_followed(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    first = _run("services", "list", tmp_path=tmp_path, cwd=elsewhere)
    assert first.returncode == 0, first.stderr
    assert first.stderr.strip() == (
        f"facegate: no database at {elsewhere}/data/facegate.db: creating a new one (to use a "
        "server's, set FACEGATE_DATA_DIR or --data-dir to its data directory)"
    )
    again = _run("services", "list", tmp_path=tmp_path, cwd=elsewhere)
    assert again.returncode == 0 and again.stderr == ""
    # FACEGATE_DATA_DIR is the server's: the command uses its database, wherever it runs.
    server = tmp_path / "server"
    created = _run(
        "services", "create", "--type", "recognition", "--name", "door",
        tmp_path=tmp_path, cwd=elsewhere, FACEGATE_DATA_DIR=str(server),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    listed = _run("services", "list", tmp_path=tmp_path, FACEGATE_DATA_DIR=str(server))
    assert created.stdout.strip() in listed.stdout
    assert (server / "facegate.db").is_file()


def _answers(url: str) -> bool:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(url).status_code == 200:
                return True
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    return False


def test_serve_says_where_and_on_what(tmp_path: Path, db_url: str) -> None:
    port = free_port()
    url = make_url(db_url)
    if url.get_backend_name() == "postgresql":  # trust auth takes any password: is it hidden?
        url = url.set(password="hunter2")
    env = _env(
        tmp_path,
        FACEGATE_DATABASE_URL=url.render_as_string(hide_password=False),
        FACEGATE_DATA_DIR=str(tmp_path / "data"),
    )
    with (
        (tmp_path / "serve.log").open("w") as log,  # uvicorn's lines, apart from the banner
        subprocess.Popen(
            [FACEGATE, "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        ) as server,
    ):
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(7)]
            assert _answers(f"http://127.0.0.1:{port}/healthz")  # the URL it printed
        finally:
            server.terminate()
    banner = dict(line.strip().split(":", 1) for line in lines[1:])
    banner = {name: value.strip() for name, value in banner.items()}
    assert lines[0].startswith("facegate ")
    assert banner["web UI and API"] == (
        f"http://127.0.0.1:{port}/ (this machine only; --host 0.0.0.0 for other hosts)"
    )
    assert banner["data dir"] == str(tmp_path / "data")
    # The URL in use (its driver named), the password hidden.
    shown = url.render_as_string(hide_password=True).split("://")[1]
    assert banner["database"].split("://")[1] == shown
    assert "hunter2" not in "".join(lines)
    assert banner["model"] == "dlib on CPUExecutionProvider"
    assert banner["search backend"] in ("memory", "pgvector")


def _doctor(tmp_path: Path, **settings: str) -> list[str]:
    done = _run("doctor", tmp_path=tmp_path, **settings)
    assert "Traceback" not in done.stderr + done.stdout
    lines = done.stdout.strip().splitlines()
    failing = [line for line in lines if line.startswith("FAIL")]
    assert done.returncode == (1 if failing else 0), done.stdout + done.stderr
    return lines


def test_doctor_on_a_sound_server(tmp_path: Path) -> None:
    data = str(tmp_path / "data")
    assert _run("db", "upgrade", tmp_path=tmp_path, FACEGATE_DATA_DIR=data).returncode == 0
    lines = _doctor(tmp_path, FACEGATE_DATA_DIR=data, FACEGATE_MQTT_URL="mqtt://127.0.0.1:1883")
    topics = [line.split(":")[0].split()[1] for line in lines[:-1]]
    assert topics == ["settings", "ONNX", "models", "database", "events", "MQTT", "disk"]
    assert all(line.startswith("ok ") for line in lines[:-1]), lines
    assert "the broker at 127.0.0.1:1883 takes the connection" in lines[5]
    assert lines[-1] == "facegate doctor: 0 to fix, 0 to look at"


def test_doctor_says_what_to_fix(tmp_path: Path) -> None:
    data = tmp_path / "data"
    created = _run(
        "services", "create", "--type", "recognition", "--name", "door",
        tmp_path=tmp_path, FACEGATE_DATA_DIR=str(data),
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    with sqlite3.connect(data / "facegate.db") as db:  # MQTT switched on, as the UI does
        db.execute("UPDATE services SET mqtt_events = 1")
    lines = _doctor(tmp_path, FACEGATE_DATA_DIR=str(data))
    assert (
        "FAIL  events: MQTT events are on for 1 service, but this server has no MQTT broker "
        "(FACEGATE_MQTT_URL is not set): 0 deliveries waiting"
    ) in lines
    broker = f"mqtt://127.0.0.1:{free_port()}"
    database = f"postgresql://facegate:hunter2@127.0.0.1:{free_port()}/frs"
    lines = _doctor(
        tmp_path,
        FACEGATE_DATA_DIR=str(tmp_path / "nowhere"),
        FACEGATE_MQTT_URL=broker,
        FACEGATE_DATABASE_URL=database,
    )
    failing = [line.split(":")[0] for line in lines if line.startswith("FAIL")]
    assert failing == ["FAIL  database", "FAIL  MQTT"]
    assert lines[-1] == "facegate doctor: 2 to fix, 0 to look at"
    assert not (tmp_path / "nowhere").exists()  # the doctor creates nothing
