"""`facegate db backup` while a live server keeps writing, and `facegate db restore` of the copy
under a server that recognises from it; PostgreSQL is pointed to pg_dump."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from facegate.config import Settings
from tests.support.clients import running_api
from tests.support.commands import facegate

WAIT = 120  # seconds a step may take on a loaded machine before the test gives up


def _wait_for(condition: Any) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, "the server stopped acknowledging writes"
        time.sleep(0.05)


def _example_ids(database: Path) -> set[str]:
    with sqlite3.connect(database) as copy:
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        return {row[0] for row in copy.execute("SELECT id FROM examples")}


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_backup_while_writing_then_restore_and_recognise(
    settings: Settings, face_engine: Any, faces_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "backup" / "facegate.db"
    out.parent.mkdir()
    with running_api(settings, face_engine, faces_dir) as api:
        first = [api.add(name, photo) for name, photo in (("obama", "fr_obama.jpg"),
                                                           ("biden", "fr_biden.jpg"))]  # fmt: skip
        assert [answer.status_code for answer in first] == [201, 201]
        acknowledged = [answer.json()["image_id"] for answer in first]
        stop = threading.Event()

        def write() -> None:
            while not stop.is_set():
                answer = api.add("kit", "knn_train_kit_harington_john1.jpeg")
                if answer.status_code == 201:
                    acknowledged.append(answer.json()["image_id"])

        writer = threading.Thread(target=write)
        writer.start()
        try:
            _wait_for(lambda: len(acknowledged) > 3)
            before = list(acknowledged)
            done = facegate("db", "backup", out, data_dir=settings.data_dir,
                            db_url=settings.database_url)  # fmt: skip
            during = len(acknowledged)
            _wait_for(lambda: len(acknowledged) > during + 1)  # the server still takes writes
        finally:
            stop.set()
            writer.join()
        assert done.returncode == 0, done.stderr
        assert f"to {out}" in done.stdout
        kept = _example_ids(out)
        # Every write acknowledged before the backup began is in it; none that never happened.
        assert set(before) <= kept <= set(acknowledged)

    restored = tmp_path / "restored"
    back = facegate("db", "restore", out, data_dir=restored, db_url=None)
    assert back.returncode == 0, back.stderr
    assert _example_ids(restored / "facegate.db") == kept
    keys = {"recognition": api.keys["recognition"]}
    with running_api(Settings(data_dir=restored), face_engine, faces_dir, keys=keys) as again:
        assert {face["image_id"] for face in again.examples()} == kept
        answer = again.recognize("knn_test_obama1.jpg")
        assert answer.status_code == 200, answer.text
        (face,) = answer.json()["result"]
        assert face["subjects"][0]["subject"] == "obama"


@pytest.mark.parametrize("db_url", [pytest.param("postgres", marks=pytest.mark.postgres)],
                         indirect=True)  # fmt: skip
def test_backup_of_postgresql_points_to_pg_dump(settings: Settings, tmp_path: Path) -> None:
    done = facegate("db", "backup", tmp_path / "copy.db", data_dir=settings.data_dir,
                    db_url=settings.database_url)  # fmt: skip
    assert done.returncode == 1
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "copy.db").exists()
