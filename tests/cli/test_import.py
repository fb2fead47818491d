"""`facegate import` of photo folders and CSVs: locally on the real engine and both databases, and
through a live server with --url/--key; a second run enrols nothing new."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError

from facegate.config import Settings
from facegate.db.tables import Example
from tests.support import png
from tests.support.clients import running_api
from tests.support.commands import facegate, subject_folders
from tests.support.servers import database

MAX_FILE_SIZE = 1024**2  # every shared photo is smaller; the padded one below is not


def _report(path: Path) -> dict[str, dict[str, str]]:
    with path.open(newline="") as rows:
        return {row["file"]: row for row in csv.DictReader(rows)}


def _photos_with_bad_ones(
    faces_dir: Path, manifest: list[dict[str, Any]], root: Path
) -> dict[str, str]:
    """The shared photos by subject, and one photo each of no face, unreadable and too large."""
    expected = subject_folders(faces_dir, manifest, root)
    blank, notes, big = root / "obama" / "blank.png", root / "obama" / "notes.txt", root / "biden"
    blank.write_bytes(png(Image.new("RGB", (200, 200), "white")))
    notes.write_text("not a photo")
    padded = (faces_dir / "fr_biden.jpg").read_bytes()
    big = big / "padded.jpg"
    big.write_bytes(padded + b"\0" * (MAX_FILE_SIZE + 1 - len(padded)))
    expected |= {str(blank): "no face", str(notes): "unreadable", str(big): "too large"}
    return expected


def test_import_folders_then_a_second_run_enrols_nothing(
    settings: Settings, db_url: str, faces_dir: Path, manifest: list[dict[str, Any]], tmp_path: Path
) -> None:
    photos = tmp_path / "photos"
    expected = _photos_with_bad_ones(faces_dir, manifest, photos)
    outcomes = Counter(expected.values())
    env = {"FACEGATE_MAX_FILE_SIZE": str(MAX_FILE_SIZE)}
    report = tmp_path / "report.csv"
    first = facegate(
        "import", photos, "--service", "faces", "--workers", "2", "--report", report,
        data_dir=settings.data_dir, db_url=db_url, env=env, timeout=600,
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    total, enrolled = len(expected), outcomes["enrolled"]
    # The progress bar (on stderr) finished at every photo; the summary and the refusals on stdout.
    assert "Enrolling" in first.stderr and f"{total}/{total}" in first.stderr
    assert f"{total} photos: {enrolled} enrolled, 0 already enrolled, " in first.stdout
    assert f"{total - enrolled} refused" in first.stdout
    assert "Refused: " in first.stdout
    rows = _report(report)
    assert {file: row["reason"] or row["status"] for file, row in rows.items()} == expected
    assert all(row["image_id"] for row in rows.values() if row["status"] == "enrolled")

    with database(settings) as sessions, sessions() as s:
        hashes = s.scalars(select(Example.content_hash)).all()
        assert len(hashes) == enrolled and len(set(hashes)) == enrolled
        assert all(h is not None and len(h) == 64 for h in hashes)

    again = facegate(
        "import", photos, "--service", "faces", "--report", report,
        data_dir=settings.data_dir, db_url=db_url, env=env, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"{total} photos: 0 enrolled, {enrolled} already enrolled" in again.stdout
    statuses = Counter(row["status"] for row in _report(report).values())
    assert statuses == {"skipped": enrolled, "refused": total - enrolled}
    with database(settings) as sessions, sessions() as s:
        assert s.scalar(select(func.count()).select_from(Example)) == enrolled


def test_usage_errors_exit_2_and_name_the_option(settings: Settings, db_url: str, tmp_path: Path):
    both = facegate(
        "import", tmp_path, "--service", "faces", "--url", "http://127.0.0.1:9", "--key", "k",
        data_dir=settings.data_dir, db_url=db_url,
    )  # fmt: skip
    assert both.returncode == 2
    assert "--service or --url and --key" in both.stderr
    table = tmp_path / "photos.csv"
    table.write_text("a.jpg\n")
    bad_csv = facegate("import", table, "--service", "x", data_dir=settings.data_dir, db_url=db_url)
    assert bad_csv.returncode == 2
    assert "line 1: expected two columns, file,subject" in bad_csv.stderr


def test_import_through_a_server_with_a_journal(
    settings: Settings, face_engine: Any, faces_dir: Path, tmp_path: Path
) -> None:
    table = tmp_path / "photos.csv"
    rows = [("file", "subject"), (str(faces_dir / "fr_obama.jpg"), "obama")]
    rows += [(str(faces_dir / "fr_biden.jpg"), "biden"), ("missing.jpg", "nobody")]
    rows += [(str(faces_dir / "fr_two_people.jpg"), "obama")]
    with table.open("w", newline="") as out:
        csv.writer(out).writerows(rows)
    with running_api(settings, face_engine, faces_dir) as api:
        key = api.keys["recognition"]
        command = ("import", table, "--url", api.url, "--key", key, "--report", tmp_path / "r.csv")
        first = facegate(*command, data_dir=tmp_path / "unused", db_url=None)
        assert first.returncode == 0, first.stderr
        assert "4 photos: 2 enrolled, 0 already enrolled, 2 refused" in first.stdout
        reasons = {Path(f).name: r["reason"] for f, r in _report(tmp_path / "r.csv").items()}
        assert reasons == {
            "fr_obama.jpg": "",
            "fr_biden.jpg": "",
            "missing.jpg": "unreadable",
            "fr_two_people.jpg": "two faces",
        }
        assert sorted(api.subjects()) == ["biden", "obama"]
        (journal,) = tmp_path.glob(".facegate-import-*.jsonl")
        lines = [json.loads(line) for line in journal.read_text().splitlines()]
        assert {e["image_id"] for e in lines} == {f["image_id"] for f in api.examples()}

        again = facegate(*command, data_dir=tmp_path / "unused", db_url=None)
        assert again.returncode == 0, again.stderr
        assert "4 photos: 0 enrolled, 2 already enrolled, 2 refused" in again.stdout
        assert len(api.examples()) == 2

        # A photo the API enrolled is known by its hash to a local import too.
        assert api.add("kit", "knn_train_kit_harington_john1.jpeg").status_code == 201
        folder = tmp_path / "kit" / "kit"
        folder.mkdir(parents=True)
        (folder / "a.jpeg").write_bytes(api.photo("knn_train_kit_harington_john1.jpeg"))
        local = facegate(
            "import", folder.parent, "--service", "recognition",
            data_dir=settings.data_dir, db_url=settings.database_url,
        )  # fmt: skip
        assert local.returncode == 0, local.stderr
        assert "1 photos: 0 enrolled, 1 already enrolled, 0 refused" in local.stdout

        wrong = facegate(*command[:4], "--key", "0" * 36, data_dir=tmp_path, db_url=None)
        assert wrong.returncode == 1
        assert "refused the key" in wrong.stderr


def test_an_import_killed_midway_continues_where_it_stopped(
    settings: Settings, db_url: str, faces_dir: Path, manifest: list[dict[str, Any]], tmp_path: Path
) -> None:
    import os
    import signal
    import subprocess
    import time

    singles = [image["file"] for image in manifest if image["faces"] == 1]
    photos = tmp_path / "photos"
    photos.mkdir()
    names = []
    for copy in range(3):  # distinct bytes, the same pixels: enough photos to stop midway
        for name in singles:
            names.append(f"{copy}-{name}")
            (photos / names[-1]).write_bytes((faces_dir / name).read_bytes() + bytes(copy))
    # The last photo is a pipe nobody writes to: the import blocks there, so it is still running
    # when it is killed however fast it enrolled the others (a plain file would let a fast
    # import finish between the test's last look and the kill).
    last = photos / "last.jpg"
    os.mkfifo(last)
    table = photos / "photos.csv"
    table.write_text("".join(f"{name},someone\n" for name in [*names, last.name]))
    total = len(names) + 1
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACEGATE_")}
    env["FACEGATE_DATABASE_URL"] = db_url
    command = ["facegate", "import", str(table), "--service", "faces", "--workers", "1",
               "--data-dir", str(settings.data_dir)]  # fmt: skip
    running = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )

    def stored() -> int:
        with database(settings) as sessions, sessions() as s:
            try:
                return s.scalar(select(func.count()).select_from(Example)) or 0
            except DBAPIError:  # the command has not created the schema yet
                return 0

    deadline = time.monotonic() + 300
    try:
        while stored() < 3:
            assert running.poll() is None, f"the import ended first: {running.returncode}"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:  # killed however the wait ends: the import would wait on its pipe forever
        running.send_signal(signal.SIGKILL)
        running.wait()
    assert running.returncode == -signal.SIGKILL
    kept = stored()
    assert 3 <= kept < total

    last.unlink()
    last.write_bytes((faces_dir / singles[0]).read_bytes() + bytes(3))
    again = facegate("import", table, "--service", "faces",
                     data_dir=settings.data_dir, db_url=db_url, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert f"{total} photos: {total - kept} enrolled, {kept} already enrolled" in again.stdout
    with database(settings) as sessions, sessions() as s:
        hashes = s.scalars(select(Example.content_hash)).all()
    assert len(hashes) == len(set(hashes)) == total


def test_largest_face_enrols_the_person_in_front_and_refusals_are_summed_up(
    settings: Settings, faces_dir: Path, tmp_path: Path
) -> None:
    """Obama with Biden small behind him (made here from two shared photos) is enrolled with
    --largest-face, as Obama; two people side by side stay refused (docs/decisions.md D59)."""
    photos = tmp_path / "photos" / "obama"
    photos.mkdir(parents=True)
    front = Image.open(faces_dir / "fr_obama2.jpg").convert("RGB")
    behind = Image.open(faces_dir / "fr_biden.jpg").convert("RGB")
    behind.thumbnail((front.width // 3, front.height // 3))
    front.paste(behind, (front.width - behind.width, 0))
    front.save(photos / "obama_with_biden_behind.jpg", quality=95)
    for name in ("fr_two_people.jpg", "knn_test_kit_with_rose.jpg"):
        (photos / name).write_bytes((faces_dir / name).read_bytes())

    plain = facegate(
        "import", photos.parent, "--service", "faces",
        data_dir=settings.data_dir, db_url=None, timeout=600,
    )  # fmt: skip
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout.splitlines()[1:] == [
        "Refused: 3 two faces",
        "  (--largest-face enrols the main face of photos with people behind)",
        "  obama/fr_two_people.jpg: two faces",
        "  obama/knn_test_kit_with_rose.jpg: two faces",
        "  obama/obama_with_biden_behind.jpg: two faces",
    ]
    largest = facegate(
        "import", photos.parent, "--service", "faces", "--largest-face",
        data_dir=settings.data_dir, db_url=None, timeout=600,
    )  # fmt: skip
    assert largest.returncode == 0, largest.stderr
    assert largest.stdout.startswith("3 photos: 1 enrolled, 0 already enrolled, 2 refused")
    assert "  obama/obama_with_biden_behind.jpg" not in largest.stdout
    # The face enrolled is Obama's: another photo of him is recognised as that subject.
    compared = facegate(
        "compare", photos / "obama_with_biden_behind.jpg", faces_dir / "fr_obama.jpg",
        data_dir=settings.data_dir, db_url=None,
    )  # fmt: skip
    assert float(compared.stdout) > 0.5
