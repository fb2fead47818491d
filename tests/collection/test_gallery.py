"""A gallery moved between servers with `facegate export` and `facegate import gallery.tar`: same
subjects, same example ids, the same example set aside, same recognition results, on both
databases; re-embedded when the other server runs another model set."""

from __future__ import annotations

import json
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from facegate import face_services
from facegate.collection import enrol, store
from facegate.config import Settings
from facegate.db.tables import Example
from tests.support.clients import Api, running_api
from tests.support.commands import facegate, subject_folders
from tests.support.servers import database

PROBES = ["knn_test_obama1.jpg", "fr_biden.jpg", "knn_test_johnsnow_test1.jpg", "fr_two_people.jpg"]
# The example set aside before the export: the first probe's own photo.
ASIDE = PROBES[0]


def _other_database(db_url: str, tmp_path: Path) -> str:
    """A second empty database of the same kind: another SQLite file or PostgreSQL schema."""
    if db_url.startswith("sqlite"):
        return f"sqlite:///{tmp_path / 'other' / 'facegate.db'}"
    import psycopg

    base = db_url.split("?", 1)[0]
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    return f"{base}?options=-csearch_path%3D{schema}"


def _recognitions(api: Api) -> list[Any]:
    """Each probe's subjects (subject, similarity, image id) as the server answers them."""
    answers = []
    for photo in PROBES:
        response = api.recognize(photo, prediction_count=3)
        assert response.status_code == 200, response.text
        answers.append([face["subjects"] for face in response.json()["result"]])
    return answers


def _alike(got: list[Any], expected: list[Any]) -> bool:
    """The same answers: the same subjects in the same order, each similarity within one unit of
    the 5th place (float32 sums may round the last place either way: dlib's steep scale, c1
    24.9, turns a 1e-7 difference in distance into 2.5e-6 in similarity)."""
    flat = [
        (a["subject"], b["subject"], a["similarity"], b["similarity"])
        for got_photo, expected_photo in zip(got, expected, strict=True)
        for got_face, expected_face in zip(got_photo, expected_photo, strict=True)
        for a, b in zip(got_face, expected_face, strict=True)
    ]
    return all(sa == sb and abs(xa - xb) < 1.5e-5 for sa, sb, xa, xb in flat)


def _gallery(
    settings: Settings, db_url: str, faces_dir: Path, manifest: list[dict[str, Any]], tmp_path: Path
) -> tuple[str, Path]:
    """Photos imported into service "faces" of `settings`, the example of ASIDE set aside,
    exported; the key and archive."""
    subject_folders(faces_dir, manifest, tmp_path / "photos")
    data_dir = settings.data_dir
    done = facegate("import", tmp_path / "photos", "--service", "faces", data_dir=data_dir,
                    db_url=db_url, timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stderr
    key = done.stderr.split("its API key: ", 1)[1].split()[0]
    with database(settings) as sessions, sessions.begin() as s:
        service = face_services.service_by_key(s, api_key=key, type="recognition")
        assert service is not None
        photo = enrol.content_hash((faces_dir / ASIDE).read_bytes())
        aside = s.scalars(select(Example.id).where(Example.content_hash == photo)).all()
        assert len(store.set_aside(s, service=service, ids=aside, aside=True)) == 1
    created = facegate("services", "create", "--type", "recognition", "--name", "empty",
                       data_dir=data_dir, db_url=db_url)  # fmt: skip
    assert created.returncode == 0, created.stderr
    archive = tmp_path / "gallery.tar"
    exported = facegate("export", "--service", "faces", "-o", archive, data_dir=data_dir,
                        db_url=db_url)  # fmt: skip
    assert exported.returncode == 0, exported.stderr
    assert "Exported 9 subjects, 22 examples (22 photos)" in exported.stdout
    return key, archive


def test_round_trip_keeps_subjects_ids_and_results(
    settings: Settings,
    db_url: str,
    face_engine: Any,
    faces_dir: Path,
    manifest: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    key, archive = _gallery(settings, db_url, faces_dir, manifest, tmp_path)
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        stored = json.loads(tar.extractfile("manifest.json").read())  # type: ignore[union-attr]
    assert {"manifest.json", "subjects.json", "examples.jsonl"} <= set(names)
    assert len([name for name in names if name.startswith("photos/")]) == 22
    assert stored["format"] == "facegate-gallery" and stored["service"] == "faces"
    assert stored["calculators"] == [face_engine.calculator_id] and stored["examples"] == 22

    with running_api(settings, face_engine, faces_dir, keys={"recognition": key}) as api:
        before, results = api.snapshot(), _recognitions(api)
    assert len(before[1]) == 22
    # Listed as set aside, and searched past: the probe's own photo is not its best match.
    [aside] = [face["image_id"] for face in before[1] if face["set_aside"] is True]
    [[best, *_]] = results[0]
    assert best["subject"] == "obama" and best["similarity"] < 1
    with tarfile.open(archive) as tar:
        lines = tar.extractfile("examples.jsonl").read().splitlines()  # type: ignore[union-attr]
    marked = [r["id"] for r in map(json.loads, lines) if r["set_aside_at"] is not None]
    assert marked == [aside]

    other_url = _other_database(db_url, tmp_path)
    other_dir = tmp_path / "other"
    imported = facegate("import", archive, "--service", "faces", data_dir=other_dir,
                        db_url=other_url, timeout=600)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "Imported 22 examples into 'faces' (0 re-embedded" in imported.stdout
    other_key = imported.stderr.split("its API key: ", 1)[1].split()[0]
    other = Settings(data_dir=other_dir, database_url=other_url)
    with running_api(other, face_engine, faces_dir, keys={"recognition": other_key}) as api:
        assert api.snapshot() == before  # the example set aside still marked
        assert _alike(_recognitions(api), results)  # and still searched past

    # Again: every example is already there, nothing changes. Into another service: the ids
    # clash, and nothing is written (that service is not even created).
    again = facegate("import", archive, "--service", "faces", data_dir=other_dir,
                     db_url=other_url, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "Imported 0 examples" in again.stdout and "22 already here" in again.stdout
    clash = facegate("import", archive, "--service", "copy", data_dir=other_dir,
                     db_url=other_url, timeout=600)  # fmt: skip
    assert clash.returncode == 1
    assert "already exists on this server" in clash.stderr
    assert "nothing was imported" in clash.stderr
    listed = facegate("services", "list", data_dir=other_dir, db_url=other_url)
    assert [row.split()[2] for row in listed.stdout.splitlines()[1:]] == ["faces"]


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_import_under_another_model_re_embeds_the_photos(
    settings: Settings,
    db_url: str,
    engines: Any,
    faces_dir: Path,
    manifest: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    _, archive = _gallery(settings, db_url, faces_dir, manifest, tmp_path)
    other_dir = tmp_path / "other"
    imported = facegate("import", archive, "--service", "faces", "--model", "insightface-s",
                        data_dir=other_dir, db_url=None, timeout=600)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    arcface = engines("insightface-s")
    assert f"Imported 22 examples into 'faces' (22 re-embedded by {arcface.calculator_id})" in (
        imported.stdout
    )
    key = imported.stderr.split("its API key: ", 1)[1].split()[0]
    other = Settings(data_dir=other_dir, model="insightface-s")
    with running_api(other, arcface, faces_dir, keys={"recognition": key}) as api:
        assert len(api.examples()) == 22
        assert [face["set_aside"] for face in api.examples()].count(True) == 1
        best = [sorted(face[0]["subject"] for face in probe) for probe in _recognitions(api)]
    assert best == [["obama"], ["biden"], ["kit_harington"], ["biden", "obama"]]


def test_a_file_that_is_no_gallery_is_refused(
    settings: Settings, db_url: str, tmp_path: Path
) -> None:
    archive = tmp_path / "other.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(__file__, arcname="notes.py")
    done = facegate("import", archive, "--service", "faces", data_dir=tmp_path, db_url=db_url)
    assert done.returncode == 1
    assert "is not a readable gallery archive" in done.stderr


def test_archive_keeps_empty_subjects_and_skips_what_cannot_be_re_embedded(
    s: Any, service: Any, tmp_path: Path
) -> None:
    """In-process on both databases, with the fake engine: what the archive holds and how an
    import treats examples of another model without a photo."""
    import io

    import numpy as np

    from facegate.collection import gallery, reads
    from facegate.errors import GalleryIdClash
    from facegate.inference import Inference
    from tests.support.fake_engine import FakeEngine

    inference = Inference(FakeEngine(), 1)
    current = inference.calculator_id
    store.create_subject(s, service=service, name="Nobody yet")
    added = [
        store.add_example(s, service=service, subject=name, embedding=np.eye(32)[i],
                          calculator=calculator, image=None)
        for i, (name, calculator) in enumerate([("Ann", current), ("Bob", "old-model"),
                                                ("Ann", current)])
    ]  # fmt: skip
    store.set_aside(s, service=service, ids=[added[2].id], aside=True)
    buffer = io.BytesIO()
    done = gallery.export(s, service=service, out=buffer, model="fake")
    assert (done.subjects, done.examples, done.photos) == (3, 3, 0)
    archive = tmp_path / "gallery.tar"
    archive.write_bytes(buffer.getvalue())
    read = gallery.read(archive)
    assert read.manifest["calculators"] == sorted([current, "old-model"])
    assert read.subjects == ["Nobody yet", "Ann", "Bob"]
    aside = [record["id"] for record in read.examples if record["set_aside_at"] is not None]
    assert aside == [added[2].id]

    embedded = gallery.embed(read, inference)
    assert embedded.skipped == [f"{added[1].id}: no photo to re-embed it with this model"]
    app = face_services.default_application(s)
    other = face_services.create_service(s, app=app, name="other", type="recognition")
    with pytest.raises(GalleryIdClash), s.begin_nested():  # the same ids, another service
        gallery.restore(s, service=other, gallery=read, embedded=embedded)
    again = gallery.restore(s, service=service, gallery=read, embedded=embedded)
    assert (again.added, again.identical) == (0, 3)
    order = store.list_examples(s, service=service, subject="Ann", page=0, size=10).items

    face_services.delete_service(s, service=service)
    s.expunge_all()  # the deleted examples' objects: another server would not hold them
    app = face_services.default_application(s)
    moved = face_services.create_service(s, app=app, name="moved", type="recognition")
    result = gallery.restore(s, service=moved, gallery=read, embedded=embedded)
    assert (result.added, result.reembedded, len(result.skipped)) == (2, 0, 1)
    assert store.list_subjects(s, service=moved) == ["Nobody yet", "Ann", "Bob"]
    page = store.list_examples(s, service=moved, subject=None, page=0, size=10)
    # The same ids, in the same order (creation times kept), the one set aside still aside.
    assert page.items == order
    assert [(e.image_id, e.set_aside) for e in page.items] == [
        (added[0].id, False),
        (added[2].id, True),
    ]
    kept = store.get_example(s, service=moved, example_id=added[2].id)
    assert np.allclose(reads.vector(s, example_id=kept.id, calculator=current), np.eye(32)[2])


def test_a_gallery_is_not_imported_while_a_migration_runs(
    settings: Settings,
    db_url: str,
    faces_dir: Path,
    manifest: list[dict[str, Any]],
    tmp_path: Path,
) -> None:
    """The store refuses every collection write during a migration (decisions.md D12, code 32),
    whoever writes: `facegate import gallery.tar` once went past the check that the API and the
    folder import made themselves."""
    from facegate.collection import flags
    from facegate.db.session import create_db_engine, session_factory, upgrade

    _, archive = _gallery(settings, db_url, faces_dir, manifest, tmp_path)
    other_url = _other_database(db_url, tmp_path)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    database = create_db_engine(Settings(data_dir=other_dir, database_url=other_url))
    try:
        upgrade(database)
        with session_factory(database).begin() as s:
            # Held by this test's process, which stays alive: a running migration.
            assert flags.take_flag(s, name=flags.MIGRATION_FLAG)
        refused = facegate("import", archive, "--service", "faces", data_dir=other_dir,
                           db_url=other_url, timeout=600)  # fmt: skip
        assert refused.returncode != 0
        assert "Write operations during migration aren't allowed" in refused.stdout + refused.stderr
        with session_factory(database)() as s:
            from sqlalchemy import func, select

            from facegate.db.tables import Example

            assert s.scalar(select(func.count()).select_from(Example)) == 0
    finally:
        database.dispose()
