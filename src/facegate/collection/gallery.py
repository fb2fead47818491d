"""A service's gallery as a tar archive that moves between servers (`facegate export`, `facegate
import gallery.tar`): subjects, examples with their ids, photos, embeddings and calculator.

The archive (decisions.md D23):

    manifest.json       format, version, service, calculators, model, counts, created
    subjects.json       every subject's name, those without examples too
    examples.jsonl      one example a line: id, subject, embeddings (calculator -> floats: one
                        per model that embedded it), calculator and embedding (one of those, as
                        archives before embeddings by model had it), sha256, created, photo (its
                        path in the archive, or null when none was kept), set_aside_at (when
                        it was set aside, decisions.md D65; null, or absent in older archives,
                        when it was not)
    photos/<id>.<ext>   the kept photos

An import keeps the ids, and what was set aside stays aside. An example's stored embedding is
used when the archive has the server's model's; otherwise the example is re-embedded from its
photo, and one without a photo is skipped and reported. The whole import is one transaction:
all of it or nothing.
"""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.collection import enrol, reads, reembed, store
from facegate.db.tables import Example, ExampleImage, Service, Subject
from facegate.engine.faces import Embedding
from facegate.errors import FacegateError, GalleryIdClash, InvalidGallery
from facegate.inference import Inference

FORMAT = "facegate-gallery"
VERSION = 1
# The first bytes of the formats the engine decodes, for a photo's file extension.
_MAGIC = {b"\xff\xd8": "jpg", b"\x89PNG": "png", b"GIF8": "gif", b"BM": "bmp", b"RIFF": "webp"}


@dataclass(frozen=True)
class Exported:
    subjects: int
    examples: int
    photos: int


@dataclass
class Imported:
    added: int = 0
    identical: int = 0  # already on this server with the same id, subject and photo
    reembedded: int = 0
    skipped: list[str] = field(default_factory=list)  # "<id>: why" of examples left out


def _extension(photo: bytes) -> str:
    return next((ext for magic, ext in _MAGIC.items() if photo.startswith(magic)), "img")


def _add(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mtime = int(datetime.now(UTC).timestamp())
    archive.addfile(info, io.BytesIO(data))


def _rows(s: Session, service: Service) -> list[tuple[Example, str, bytes | None]]:
    """Every example of the service with its subject's name and kept photo, oldest first."""
    query = (
        select(Example, Subject.name, ExampleImage.data)
        .join(Subject, Subject.id == Example.subject_id)
        .outerjoin(ExampleImage, ExampleImage.example_id == Example.id)
        .where(Subject.service_id == service.id)
        .order_by(Example.created_at, Example.id)
    )
    return [(example, subject, photo) for example, subject, photo in s.execute(query)]


def export(s: Session, *, service: Service, out: IO[bytes], model: str) -> Exported:
    """Write the service's gallery to `out` as a tar archive; the manifest records `model`, the
    server's model set, and the calculators of the examples' embeddings."""
    subjects = store.list_subjects(s, service=service)
    embeddings = reads.service_embeddings(s, service_id=service.id)
    lines, photos, calculators = [], 0, set[str]()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for example, subject, photo in _rows(s, service):
            path = None
            if photo is not None:
                path = f"photos/{example.id}.{_extension(photo)}"
                _add(archive, path, photo)
                photos += 1
            vectors = {
                calculator: reads.as_vector(blob).tolist()
                for calculator, blob in sorted(embeddings.get(example.id, {}).items())
            }
            first = next(iter(vectors))  # an example always has an embedding
            record = {
                "id": example.id,
                "subject": subject,
                "embeddings": vectors,
                "calculator": first,
                "embedding": vectors[first],
                "sha256": example.content_hash,
                "created": example.created_at.isoformat(),
                "photo": path,
                "set_aside_at": example.set_aside_at and example.set_aside_at.isoformat(),
            }
            lines.append(json.dumps(record))
            calculators.update(vectors)
        _add(archive, "examples.jsonl", "".join(f"{line}\n" for line in lines).encode())
        _add(archive, "subjects.json", json.dumps(subjects).encode())
        manifest = {
            "format": FORMAT,
            "version": VERSION,
            "service": service.name,
            "calculators": sorted(calculators),
            "model": model,
            "subjects": len(subjects),
            "examples": len(lines),
            "photos": photos,
            "created": datetime.now(UTC).isoformat(),
        }
        _add(archive, "manifest.json", json.dumps(manifest, indent=2).encode())
    return Exported(len(subjects), len(lines), photos)


@dataclass(frozen=True)
class Gallery:
    """An archive read back: its manifest, subjects and examples, and its photos by path."""

    manifest: dict[str, Any]
    subjects: list[str]
    examples: list[dict[str, Any]]
    photos: dict[str, bytes]


def read(path: Path) -> Gallery:
    """Read an archive written by `export`; anything else is InvalidGallery."""
    try:
        with tarfile.open(path, mode="r") as archive:
            files = {member.name: _member(archive, member) for member in archive if member.isfile()}
        manifest = json.loads(files["manifest.json"])
        if manifest.get("format") != FORMAT or manifest.get("version") != VERSION:
            raise InvalidGallery(f"{path} is not a facegate gallery of version {VERSION}")
        subjects = json.loads(files["subjects.json"])
        examples = [json.loads(line) for line in files["examples.jsonl"].splitlines() if line]
    except (OSError, tarfile.TarError, KeyError, ValueError) as error:
        raise InvalidGallery(f"{path} is not a readable gallery archive ({error})") from None
    photos = {name: data for name, data in files.items() if name.startswith("photos/")}
    return Gallery(manifest, subjects, examples, photos)


def _member(archive: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    stream = archive.extractfile(member)
    return stream.read() if stream is not None else b""


@dataclass(frozen=True)
class Embedded:
    """The gallery's embeddings under this server's model, computed before any transaction (so
    re-embedding never holds the database's write lock): by example id, with those left out."""

    calculator: str
    embeddings: dict[str, Embedding]
    reembedded: set[str]  # ids whose embedding came from the photo
    skipped: list[str]


def embed(gallery: Gallery, inference: Inference) -> Embedded:
    """Each example's stored embedding when its calculator is `inference`'s, else one computed
    from its photo as /migrate does; an example without a photo (or face) is skipped."""
    vectors: dict[str, Embedding] = {}
    skipped, reembedded = [], set()
    for record in gallery.examples:
        photo = gallery.photos.get(record["photo"]) if record["photo"] else None
        stored_ones = record.get("embeddings") or {record["calculator"]: record["embedding"]}
        if inference.calculator_id in stored_ones:
            vectors[record["id"]] = np.asarray(stored_ones[inference.calculator_id], np.float32)
        elif photo is None:
            skipped.append(f"{record['id']}: no photo to re-embed it with this model")
        else:
            try:
                vectors[record["id"]] = reembed.photo_embedding(inference, photo)
            except FacegateError as error:
                skipped.append(f"{record['id']}: {error.message}")
                continue
            reembedded.add(record["id"])
    return Embedded(inference.calculator_id, vectors, reembedded, skipped)


def restore(s: Session, *, service: Service, gallery: Gallery, embedded: Embedded) -> Imported:
    """Add the gallery's subjects and examples to `service`, keeping their ids, in the caller's
    transaction. An id that already names another example (another subject, photo or service)
    is GalleryIdClash before anything is written; the same example again is counted identical."""
    outcome = Imported(skipped=list(embedded.skipped))
    fresh = [r for r in _check_ids(s, service, gallery, outcome) if r["id"] in embedded.embeddings]
    outcome.reembedded = len({r["id"] for r in fresh} & embedded.reembedded)
    existing = {name.lower() for name in store.list_subjects(s, service=service)}
    for name in gallery.subjects:
        if name.lower() not in existing:
            store.create_subject(s, service=service, name=name)
    added = []
    for record in fresh:
        photo = gallery.photos.get(record["photo"]) if record["photo"] else None
        aside = record.get("set_aside_at")  # older archives do not have it
        added.append(
            store.NewExample(
                subject=record["subject"],
                embedding=embedded.embeddings[record["id"]],
                calculator=embedded.calculator,
                image=photo,
                content_hash=record["sha256"] or (enrol.content_hash(photo) if photo else None),
                example_id=record["id"],
                created_at=datetime.fromisoformat(record["created"]),
                set_aside_at=aside and datetime.fromisoformat(aside),
            )
        )
    outcome.added = len(store.add_examples(s, service=service, examples=added))
    return outcome


def _check_ids(
    s: Session, service: Service, gallery: Gallery, outcome: Imported
) -> list[dict[str, Any]]:
    """The gallery's examples not yet on this server; raises GalleryIdClash for an id that is."""
    ids = [record["id"] for record in gallery.examples]
    found = {}
    for start in range(0, len(ids), reads.IDS_PER_QUERY):
        rows = s.execute(
            select(Example, Subject.service_id, Subject.name)
            .join(Subject, Subject.id == Example.subject_id)
            .where(Example.id.in_(ids[start : start + reads.IDS_PER_QUERY]))
        )
        found.update({example.id: (example, owner, name) for example, owner, name in rows})
    fresh = []
    for record in gallery.examples:
        if record["id"] not in found:
            fresh.append(record)
            continue
        example, service_id, subject = found[record["id"]]
        if (service_id, subject, example.content_hash) != (
            service.id,
            record["subject"],
            record["sha256"],
        ):
            raise GalleryIdClash(record["id"])
        outcome.identical += 1
    return fresh
