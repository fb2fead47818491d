"""Enrolling photos as examples: the one-face rule of POST /recognition/faces, the content hash
every enrolment records, and bulk enrolment of photo files in parallel (`facegate import`).

Bulk enrolment writes through a `Target`: this server's database (`LocalTarget`) or, in the
CLI, a remote CompreFace-compatible server. Either way a photo whose SHA-256 the target already
holds is skipped, so an interrupted import run again just continues (decisions.md D22).
"""

from __future__ import annotations

import csv
import hashlib
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import quality_gate, store
from facegate.collection.quality_gate import QualityLimits
from facegate.db.tables import Example, Service, Subject
from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Embedding, Face
from facegate.errors import (
    FacegateError,
    ImageTooLarge,
    InvalidParameter,
    TooManyFaces,
)
from facegate.inference import FaceQuery, Image, Inference, embeddings


def content_hash(data: bytes) -> str:
    """The SHA-256 of a photo's bytes, in hex: what an example records and an import skips."""
    return hashlib.sha256(data).hexdigest()


# `largest`: the largest face is taken when the next is at most this share of its area, someone
# in the background; two faces closer in size are two people posing (docs/decisions.md D59).
BACKGROUND_AREA = 0.5


def face_embedding(
    inference: Inference,
    image: Image,
    *,
    det_prob_threshold: float | None = None,
    quality: QualityLimits | None = None,
    largest: bool = False,
) -> Embedding:
    """The embedding of the one face in `image`, as POST /faces takes it: no face is error 28,
    more than one is error 31 (two faces are enough to tell), and with the service's enrolment
    `quality` limits a face outside them is refused (decisions.md D24). `largest` takes the
    largest face when the others are much smaller (BACKGROUND_AREA)."""
    plugins = [] if quality is None else [face_plugins.QUALITY]
    query = FaceQuery(det_prob_threshold=det_prob_threshold, plugins=plugins)
    faces = inference.faces(image, query, limit=2).faces  # largest first
    if len(faces) > 1 and not (largest and _area(faces[1]) <= BACKGROUND_AREA * _area(faces[0])):
        raise TooManyFaces()
    if quality is not None:
        quality_gate.check(faces[0], quality)
    embedding: Embedding = embeddings(faces)[0]
    return embedding


def _area(face: Face) -> int:
    return (face.box.x_max - face.box.x_min) * (face.box.y_max - face.box.y_min)


# --- the photos to import ---------------------------------------------------------------------


@dataclass(frozen=True)
class PhotoFile:
    """A photo file and the subject it shows."""

    path: Path
    subject: str


def _visible(path: Path) -> bool:
    return not path.name.startswith(".")  # the remote journal and editors' files are hidden


def photos_in_folders(root: Path) -> list[PhotoFile]:
    """One folder per subject under `root`, named as the subject; every file in it is a photo."""
    return [
        PhotoFile(path, folder.name)
        for folder in sorted(root.iterdir())
        if folder.is_dir() and _visible(folder)
        for path in sorted(folder.iterdir())
        if path.is_file() and _visible(path)
    ]


def photos_in_csv(table: Path) -> list[PhotoFile]:
    """Rows of `file,subject` (a first row `file,subject` is a header); relative file names are
    read from the CSV's folder. A row without both is an InvalidParameter naming its line."""
    photos = []
    with table.open(newline="", encoding="utf-8") as rows:
        for line, row in enumerate(csv.reader(rows), start=1):
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != 2 or not row[0].strip() or not row[1].strip():
                raise InvalidParameter(f"{table}, line {line}: expected two columns, file,subject")
            if line == 1 and [cell.strip().lower() for cell in row] == ["file", "subject"]:
                continue
            photos.append(PhotoFile(table.parent / row[0].strip(), row[1].strip()))
    return photos


# --- bulk enrolment -----------------------------------------------------------------------------


class Status(StrEnum):
    enrolled = "enrolled"
    skipped = "skipped"
    refused = "refused"


@dataclass(frozen=True)
class Result:
    """What became of one photo: its example id, or why it was skipped or refused."""

    photo: PhotoFile
    status: Status
    reason: str = ""  # refused: no face, two faces, unreadable, too large, or the error's message
    detail: str = ""  # the error's own message
    image_id: str = ""


def reason_of(error: FacegateError) -> str:
    """The short reason an import reports for a refused photo, from CompreFace's error code (the
    same for this server's errors and a remote server's answers)."""
    if error.code == 28:
        return "no face"
    if error.code == 31:
        return "two faces"
    if error.status == 413 or isinstance(error, ImageTooLarge):
        return "too large"
    if error.code == 21:
        return "unreadable"
    return error.message


class Target(Protocol):
    """Where bulk enrolment writes: it knows the hashes it holds and enrols one photo."""

    def enrolled_hashes(self) -> set[str]: ...

    def enrol(self, photo: PhotoFile, data: bytes, digest: str) -> str:
        """Enrol the photo and return its image id; a refusal is a FacegateError."""
        ...


class LocalTarget:
    """One recognition service of this server's database, through the same code as POST /faces:
    the engine's work outside any transaction, then one short transaction per photo, so an
    interrupted import keeps every photo it reported enrolled."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        inference: Inference,
        *,
        service_id: int,
        keep_images: bool,
        det_prob_threshold: float | None = None,
        quality: QualityLimits | None = None,
        largest: bool = False,
    ) -> None:
        """`largest`: a photo with someone in the background gives its largest face."""
        self._sessions = sessions
        self._largest = largest
        self._inference = inference
        self._service_id = service_id
        self._keep_images = keep_images
        self._det_prob_threshold = det_prob_threshold
        self._quality = quality

    def enrolled_hashes(self) -> set[str]:
        with self._sessions() as s:
            return set(
                s.scalars(
                    select(Example.content_hash)
                    .join(Subject, Subject.id == Example.subject_id)
                    .where(Subject.service_id == self._service_id)
                    .where(Example.content_hash.is_not(None))
                )
            )

    def enrol(self, photo: PhotoFile, data: bytes, digest: str) -> str:
        image = Image(data, photo.path.name)
        embedding = face_embedding(
            self._inference,
            image,
            det_prob_threshold=self._det_prob_threshold,
            quality=self._quality,
            largest=self._largest,
        )
        with self._sessions.begin() as s:
            example = store.add_example(
                s,
                service=s.get_one(Service, self._service_id),
                subject=photo.subject,
                embedding=embedding,
                calculator=self._inference.calculator_id,
                image=data if self._keep_images else None,
                content_hash=digest,
            )
            return example.id


def enrol_photos(
    photos: Iterable[PhotoFile],
    target: Target,
    *,
    workers: int,
    on_result: Callable[[Result], None] | None = None,
) -> list[Result]:
    """Enrol every photo through `target` with `workers` threads (the engine releases the GIL),
    skipping photos whose content the target already holds, a copy within this run included.
    Returns the results in the photos' order; `on_result` sees each as it comes."""
    known = target.enrolled_hashes()
    lock = threading.Lock()

    def enrol(photo: PhotoFile) -> Result:
        try:
            data = photo.path.read_bytes()
        except OSError as error:
            return Result(photo, Status.refused, "unreadable", error.strerror or str(error))
        digest = content_hash(data)
        with lock:
            if digest in known:
                return Result(photo, Status.skipped, "already enrolled")
            known.add(digest)
        try:
            image_id = target.enrol(photo, data, digest)
        except FacegateError as error:
            with lock:
                known.discard(digest)
            return Result(photo, Status.refused, reason_of(error), error.message)
        return Result(photo, Status.enrolled, image_id=image_id)

    todo = list(photos)
    results: dict[int, Result] = {}
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = {pool.submit(enrol, photo): i for i, photo in enumerate(todo)}
        for future in as_completed(futures):
            results[futures[future]] = result = future.result()
            if on_result is not None:
                on_result(result)
    return [results[i] for i in range(len(todo))]
