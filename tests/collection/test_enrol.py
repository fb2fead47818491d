"""collection.enrol without the engine: finding the photos, refusal reasons, skipping by hash.
(The real engine and both databases: tests/cli/test_import.py.)"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from facegate.collection import enrol
from facegate.errors import (
    FacegateError,
    FileTooLarge,
    ImageTooLarge,
    InvalidParameter,
    NoFaceFound,
    NotAnImage,
    TooManyFaces,
)


def test_folders_are_subjects_and_hidden_files_are_not_photos(tmp_path: Path) -> None:
    for path in ("ann/1.jpg", "ann/2.jpg", "bob/1.png", ".cache/x.jpg", "bob/.journal.jsonl"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(path.encode())
    (tmp_path / "loose.jpg").write_bytes(b"not in a subject's folder")
    found = [
        (p.path.relative_to(tmp_path).as_posix(), p.subject)
        for p in enrol.photos_in_folders(tmp_path)
    ]
    assert found == [("ann/1.jpg", "ann"), ("ann/2.jpg", "ann"), ("bob/1.png", "bob")]


def test_a_csv_names_files_relative_to_itself_with_an_optional_header(tmp_path: Path) -> None:
    table = tmp_path / "list.csv"
    table.write_text("file,subject\na.jpg, Ann Lee \n\n/abs/b.jpg,Bob\n")
    assert enrol.photos_in_csv(table) == [
        enrol.PhotoFile(tmp_path / "a.jpg", "Ann Lee"),
        enrol.PhotoFile(Path("/abs/b.jpg"), "Bob"),
    ]
    table.write_text("a.jpg,Ann\nb.jpg\n")
    with pytest.raises(InvalidParameter, match="line 2: expected two columns"):
        enrol.photos_in_csv(table)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (NoFaceFound(), "no face"),
        (TooManyFaces(), "two faces"),
        (NotAnImage(), "unreadable"),
        (FileTooLarge(), "too large"),
        (ImageTooLarge(), "too large"),
        # A remote server's answers, rebuilt from their status and code.
        (FacegateError("x", status=400, code=28), "no face"),
        (FacegateError("Payload Too Large", status=413, code=0), "too large"),
        (
            FacegateError("Subject name is too long", status=400, code=36),
            "Subject name is too long",
        ),
    ],
)
def test_refusal_reasons(error: FacegateError, reason: str) -> None:
    assert enrol.reason_of(error) == reason


class _Target:
    """Enrols everything but photos whose bytes say "no face"; knows one hash already."""

    def __init__(self, known: set[str]) -> None:
        self.known = known
        self.enrolled: list[str] = []
        self.lock = threading.Lock()

    def enrolled_hashes(self) -> set[str]:
        return set(self.known)

    def enrol(self, photo: enrol.PhotoFile, data: bytes, digest: str) -> str:
        if data == b"no face":
            raise NoFaceFound()
        with self.lock:
            self.enrolled.append(photo.path.name)
        return f"id-{photo.path.name}"


def test_enrol_photos_skips_known_and_repeated_content(tmp_path: Path) -> None:
    contents = {"a": b"one", "b": b"two", "c": b"one", "d": b"no face", "e": b"old"}
    for name, data in contents.items():
        (tmp_path / name).write_bytes(data)
    photos = [enrol.PhotoFile(tmp_path / name, "ann") for name in [*contents, "missing"]]
    target = _Target({enrol.content_hash(b"old")})
    seen: list[enrol.Result] = []
    results = enrol.enrol_photos(photos, target, workers=3, on_result=seen.append)
    assert [r.photo for r in results] == photos and sorted(map(id, seen)) == sorted(
        map(id, results)
    )
    outcome = {r.photo.path.name: (r.status.value, r.reason) for r in results}
    # "a" and "c" hold the same bytes: whichever thread came first enrolled them, once.
    assert sorted([outcome.pop("a"), outcome.pop("c")]) == [
        ("enrolled", ""),
        ("skipped", "already enrolled"),
    ]
    assert outcome == {
        "b": ("enrolled", ""),
        "d": ("refused", "no face"),
        "e": ("skipped", "already enrolled"),
        "missing": ("refused", "unreadable"),
    }
    assert sorted(target.enrolled) in (["a", "b"], ["b", "c"])
