"""Face collections: subjects and examples with CompreFace's semantics, embeddings, kept photos.

Plain functions taking a Session first and keyword-only arguments. The caller owns the
transaction. Every write to a collection starts by bumping `Service.version` (which also takes
the service's write lock: a row lock on PostgreSQL, the database lock on SQLite, so writes to one
collection are serialised) and records what it changed under that version
(`facegate.collection.changes`), which every process's
`facegate.collection.index.IndexRegistry` applies to its in-memory matrix at its next search.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, delete, false, func, insert, select, true, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from facegate import names
from facegate.collection import changes, flags, pgvector
from facegate.db.session import bulk_write
from facegate.db.tables import (
    Embedding,
    Example,
    ExampleImage,
    Service,
    Subject,
    could_be_id,
    new_uuid,
    utcnow,
)
from facegate.engine.similarity import normalize
from facegate.errors import (
    ExampleNotFound,
    InvalidParameter,
    SubjectAlreadyExists,
    SubjectNotFound,
    WritesDuringMigration,
)
from facegate.events import outbox

# Spring Data's Pageable defaults, which CompreFace's GET /faces uses unchanged.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 2000


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExampleRef:
    """An example as clients see it: `{"image_id", "subject"}`."""

    image_id: str
    subject: str


@dataclass(frozen=True)
class ListedExample(ExampleRef):
    """An example as GET /faces lists it: with whether it is set aside (decisions.md D65)."""

    set_aside: bool


@dataclass(frozen=True)
class Page:
    """One page of examples, numbered from 0 like Spring's Pageable."""

    items: list[ListedExample]
    total_elements: int
    page_number: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_elements / self.page_size)


def _write(s: Session, service: Service, *, model_switch: bool = False) -> int:
    """Bump the service's version (taking its write lock) and return the new value.

    Refused while a migration re-embeds the collections (decisions.md D12, code 32), whoever
    writes: the API, the CLI's imports, a gallery restore. Only the model switch's own writes
    (`model_switch`: re-embedding, retiring a model) go through. Checked here, where every
    write passes, so that no caller can forget it (a gallery import once wrote during one)."""
    if not model_switch and flags.flag_is_set(s, name=flags.MIGRATION_FLAG):
        raise WritesDuringMigration()
    version = s.execute(
        update(Service)
        .where(Service.id == service.id)
        .values(version=Service.version + 1)
        .returning(Service.version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(service, "version", version)
    return version


# --- subjects ---------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    """The folded name that the unique index compares (why it is stored: `tables.Subject`)."""
    return name.lower()


def _valid_name(name: str) -> str:
    """The name a subject is given, by the rule of decisions.md D11. The API checks it first,
    with CompreFace's messages, before any work; this keeps every other caller to it too."""
    return names.subject(name, empty=InvalidParameter("Subject name cannot be empty"))


def _find_subject(s: Session, *, service: Service, name: str) -> Subject | None:
    """The subject called `name`, compared case-insensitively; None for a name that breaks the
    rule, which no subject bears (and which may hold what PostgreSQL refuses, such as NUL)."""
    if not names.is_subject(name):
        return None
    return s.scalar(
        select(Subject).where(Subject.service_id == service.id, Subject.name_key == _name_key(name))
    )


def _add_subject(s: Session, *, service: Service, name: str) -> Subject:
    name = _valid_name(name)
    subject = Subject(service_id=service.id, name=name, name_key=_name_key(name))
    s.add(subject)
    s.flush()
    return subject


def _drop_subject(s: Session, *, service: Service, version: int, subject: Subject) -> int:
    """Delete a subject with its examples (ON DELETE CASCADE); returns how many examples."""
    removed = tuple(s.scalars(select(Example.id).where(Example.subject_id == subject.id)))
    s.execute(delete(Subject).where(Subject.id == subject.id))
    s.expunge(subject)
    changes.record(
        s, service_id=service.id, version=version, kind=changes.Kind.REMOVED, examples=removed
    )
    _publish(s, service, outbox.SUBJECT_DELETED, subject=subject.name, examples=len(removed))
    return len(removed)


def _publish(s: Session, service: Service, type: str, **data: object) -> None:
    """An event of this write, in its transaction (facegate.events.outbox)."""
    outbox.publish(s, service=service, events=[(type, data)])


def create_subject(s: Session, *, service: Service, name: str) -> Subject:
    version = _write(s, service)
    if _find_subject(s, service=service, name=name) is not None:
        raise SubjectAlreadyExists()
    subject = _add_subject(s, service=service, name=name)
    changes.record(s, service_id=service.id, version=version, kind=changes.Kind.NONE)
    _publish(s, service, outbox.SUBJECT_ADDED, subject=subject.name)
    return subject


def get_subject(s: Session, *, service: Service, name: str) -> Subject:
    """The subject called `name` (compared case-insensitively), or SubjectNotFound."""
    subject = _find_subject(s, service=service, name=name)
    if subject is None:
        raise SubjectNotFound(name)
    return subject


def list_subjects(s: Session, *, service: Service) -> list[str]:
    return list(
        s.scalars(select(Subject.name).where(Subject.service_id == service.id).order_by(Subject.id))
    )


def rename_subject(s: Session, *, service: Service, old: str, new: str) -> bool:
    """CompreFace's rename: a no-op for the same name, a merge when `new` is another subject."""
    if not new or new == old:
        return False
    version = _write(s, service)
    subject = _find_subject(s, service=service, name=old)
    if subject is None:
        raise SubjectNotFound(old)
    target = _find_subject(s, service=service, name=new)
    if target is None or target.id == subject.id:
        subject.name, subject.name_key = _valid_name(new), _name_key(new)
        s.flush()
        changes.record(
            s,
            service_id=service.id,
            version=version,
            kind=changes.Kind.RENAMED,
            subject=subject.id,
            name=subject.name,
        )
        _publish(
            s, service, outbox.SUBJECT_RENAMED, subject=subject.name, previous=old, merged=False
        )
        return True
    bulk_write(
        s,
        update(Example).where(Example.subject_id == subject.id).values(subject_id=target.id),
    )
    s.execute(delete(Subject).where(Subject.id == subject.id))
    s.expunge(subject)
    changes.record(
        s,
        service_id=service.id,
        version=version,
        kind=changes.Kind.MERGED,
        source=subject.id,
        target=target.id,
        name=target.name,
    )
    _publish(s, service, outbox.SUBJECT_RENAMED, subject=target.name, previous=old, merged=True)
    return True


def delete_subject(s: Session, *, service: Service, name: str) -> str:
    """Delete a subject (found case-insensitively) with its examples; returns its stored name."""
    version = _write(s, service)
    subject = _find_subject(s, service=service, name=name)
    if subject is None:
        raise SubjectNotFound(name)
    _drop_subject(s, service=service, version=version, subject=subject)
    return subject.name


def delete_all_subjects(s: Session, *, service: Service) -> int:
    """Delete every subject and example of the service; returns the number of subjects."""
    version = _write(s, service)
    count = bulk_write(s, delete(Subject).where(Subject.service_id == service.id))
    changes.record(s, service_id=service.id, version=version, kind=changes.Kind.CLEARED)
    _publish(s, service, outbox.SUBJECT_DELETED, subject=None, all=True, count=count)
    return count


# --- examples ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewExample:
    """An example to store: a face of `subject` (created if new), its embedding by
    `calculator` (stored L2-normalised) and photo. `content_hash` is the photo's SHA-256
    (collection.enrol); `example_id`, `created_at` and `set_aside_at` (set aside since then,
    decisions.md D65) keep an imported gallery's."""

    subject: str
    embedding: npt.ArrayLike
    calculator: str
    image: bytes | None = None
    content_hash: str | None = None
    example_id: str | None = None
    created_at: datetime | None = None
    set_aside_at: datetime | None = None


# Examples written under one version (one record of changes, one event batch) by add_examples:
# what another process reads at once when it follows the write.
BULK_CHUNK = 1_000


def add_example(
    s: Session,
    *,
    service: Service,
    subject: str,
    embedding: np.ndarray,
    calculator: str,
    image: bytes | None,
    content_hash: str | None = None,
    example_id: str | None = None,
    created_at: datetime | None = None,
) -> Example:
    """Store one face of `subject` (created if new); see NewExample."""
    new = NewExample(subject, embedding, calculator, image, content_hash, example_id, created_at)
    [added] = add_examples(s, service=service, examples=[new])
    example = s.get(Example, added)
    assert example is not None  # written just now, in this transaction
    return example


def add_examples(s: Session, *, service: Service, examples: Sequence[NewExample]) -> list[str]:
    """Store many examples at bulk-insert speed (a gallery import): up to BULK_CHUNK of one
    model under each version, a large load's pgvector index built once at the end
    (`pgvector.index_after_load`); returns their ids in order."""
    ids: list[str] = []
    chunk: list[NewExample] = []
    with pgvector.index_after_load(s, Counter(example.calculator for example in examples)):
        for example in examples:
            if chunk and (len(chunk) == BULK_CHUNK or example.calculator != chunk[0].calculator):
                ids += _add_chunk(s, service, chunk)
                chunk = []
            chunk.append(example)
        if chunk:
            ids += _add_chunk(s, service, chunk)
    return ids


def _add_chunk(s: Session, service: Service, examples: Sequence[NewExample]) -> list[str]:
    """Examples of one model, under one version."""
    version = _write(s, service)
    owners = _owners(s, service, [example.subject for example in examples])
    now = utcnow()
    rows = [
        (example.example_id or new_uuid(), owners[example.subject], example) for example in examples
    ]
    s.execute(
        insert(Example),
        [
            {
                "id": example_id,
                "subject_id": owner.id,
                "content_hash": example.content_hash,
                "created_at": example.created_at or now,
                "set_aside_at": example.set_aside_at,
            }
            for example_id, owner, example in rows
        ],
    )
    s.execute(
        insert(Embedding),
        [
            {
                "example_id": example_id,
                "calculator": example.calculator,
                "vector": _normalized(example.embedding).tobytes(),
                "service_id": service.id,
            }
            for example_id, _, example in rows
        ],
    )
    images = [
        {"example_id": example_id, "data": example.image}
        for example_id, _, example in rows
        if example.image is not None
    ]
    if images:
        s.execute(insert(ExampleImage), images)
    changes.record(
        s,
        service_id=service.id,
        version=version,
        kind=changes.Kind.EMBEDDED,
        examples=[example_id for example_id, _, _ in rows],
        calculator=examples[0].calculator,
    )
    outbox.publish(
        s,
        service=service,
        events=[
            (outbox.EXAMPLE_ADDED, {"image_id": example_id, "subject": owner.name})
            for example_id, owner, _ in rows
        ],
    )
    return [example_id for example_id, _, _ in rows]


def _owners(s: Session, service: Service, subjects: Sequence[str]) -> dict[str, Subject]:
    """The subject each of these names (as given) belongs to, compared case-insensitively;
    the missing ones created (with an event each), in one query and one flush."""
    valid = {name: _valid_name(name) for name in subjects}  # before any query: _valid_name
    keys = {_name_key(name): name for name in valid.values()}
    found = {
        subject.name_key: subject
        for subject in s.scalars(
            select(Subject).where(
                Subject.service_id == service.id, Subject.name_key.in_(list(keys))
            )
        )
    }
    created = [
        Subject(service_id=service.id, name=name, name_key=key)
        for key, name in keys.items()
        if key not in found
    ]
    if created:
        s.add_all(created)
        s.flush()
        outbox.publish(
            s,
            service=service,
            events=[(outbox.SUBJECT_ADDED, {"subject": subject.name}) for subject in created],
        )
    found |= {subject.name_key: subject for subject in created}
    return {given: found[_name_key(name)] for given, name in valid.items()}


def _normalized(embedding: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The L2-normalised float32 vector that is stored (little-endian bytes) and indexed."""
    vector: npt.NDArray[np.float32] = normalize(np.asarray(embedding, dtype=np.float32).ravel())
    return vector


def list_examples(
    s: Session, *, service: Service, subject: str | None, page: int, size: int
) -> Page:
    """CompreFace's GET /faces: the subject filter is exact and case-sensitive (and matches
    nothing when it breaks the rule for names, decisions.md D11); examples set aside are listed
    too, marked."""
    page = max(page, 0)
    size = DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)
    query = select(Example.id, Subject.name, Example.set_aside_at).join(
        Subject, Subject.id == Example.subject_id
    )
    query = query.where(Subject.service_id == service.id)
    if subject is not None:
        query = query.where(Subject.name == subject if names.is_subject(subject) else false())
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.execute(query.order_by(Example.created_at, Example.id).offset(page * size).limit(size))
    items = [ListedExample(example_id, name, aside is not None) for example_id, name, aside in rows]
    return Page(items=items, total_elements=total, page_number=page, page_size=size)


def get_example(s: Session, *, service: Service, example_id: str) -> Example:
    """The example with this id in this service, or ExampleNotFound (404, code 44)."""
    if not could_be_id(example_id):
        raise ExampleNotFound(example_id)
    example = s.scalar(
        select(Example)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service.id, Example.id == example_id)
    )
    if example is None:
        raise ExampleNotFound(example_id)
    return example


def _refs(
    s: Session, *, service: Service, ids: Collection[str], where: ColumnElement[bool] | None = None
) -> list[ExampleRef]:
    """The service's examples among `ids` that meet `where`, with their subjects' names; ids
    that cannot be an example's are skipped."""
    candidates = [example_id for example_id in ids if could_be_id(example_id)]
    rows = s.execute(
        select(Example.id, Subject.name)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service.id, Example.id.in_(candidates))
        .where(true() if where is None else where)
    )
    return [ExampleRef(example_id, name) for example_id, name in rows]


def delete_examples(s: Session, *, service: Service, ids: Collection[str]) -> list[ExampleRef]:
    """Delete the examples with these ids; unknown ids are skipped. Subjects stay."""
    version = _write(s, service)
    found = _refs(s, service=service, ids=ids)
    removed = tuple(ref.image_id for ref in found)
    if removed:
        s.execute(delete(Example).where(Example.id.in_(removed)))
    changes.record(
        s, service_id=service.id, version=version, kind=changes.Kind.REMOVED, examples=removed
    )
    outbox.publish(
        s,
        service=service,
        events=[
            (outbox.EXAMPLE_DELETED, {"image_id": ref.image_id, "subject": ref.subject})
            for ref in found
        ],
    )
    return found


def set_aside(
    s: Session, *, service: Service, ids: Collection[str], aside: bool
) -> list[ExampleRef]:
    """Set these examples aside (`aside`), so that no search finds them, or restore them
    (decisions.md D65); unknown ids and examples already so are skipped. Returns those changed."""
    version = _write(s, service)
    unchanged = Example.set_aside_at.is_(None) if aside else Example.set_aside_at.is_not(None)
    found = _refs(s, service=service, ids=ids, where=unchanged)
    changed = tuple(ref.image_id for ref in found)
    if changed:
        s.execute(
            update(Example)
            .where(Example.id.in_(changed))
            .values(set_aside_at=utcnow() if aside else None)
        )  # synchronised with the session's objects (SQLAlchemy's default): readers see the mark
    changes.record(
        s,
        service_id=service.id,
        version=version,
        kind=changes.Kind.SET_ASIDE if aside else changes.Kind.RESTORED,
        examples=changed,
    )
    outbox.publish(
        s,
        service=service,
        events=[
            (
                outbox.EXAMPLE_SET_ASIDE if aside else outbox.EXAMPLE_RESTORED,
                {"image_id": ref.image_id, "subject": ref.subject},
            )
            for ref in found
        ],
    )
    return found


def delete_example(s: Session, *, service: Service, example_id: str) -> ExampleRef:
    deleted = delete_examples(s, service=service, ids=[example_id])
    if not deleted:
        raise ExampleNotFound(example_id)
    return deleted[0]


def delete_examples_by_subject(s: Session, *, service: Service, subject: str | None) -> int:
    """DELETE /faces: a subject's examples and the subject itself (0 if unknown), or with no
    subject every example of the service (decisions.md D2). Returns the examples deleted."""
    version = _write(s, service)
    if subject is None:
        in_service = select(Subject.id).where(Subject.service_id == service.id)
        count = bulk_write(s, delete(Example).where(Example.subject_id.in_(in_service)))
        changes.record(s, service_id=service.id, version=version, kind=changes.Kind.CLEARED)
        _publish(s, service, outbox.EXAMPLE_DELETED, image_id=None, all=True, count=count)
        return count
    owner = _find_subject(s, service=service, name=subject)
    if owner is None:
        changes.record(s, service_id=service.id, version=version, kind=changes.Kind.NONE)
        return 0
    return _drop_subject(s, service=service, version=version, subject=owner)


def example_image(s: Session, *, service: Service, example_id: str) -> bytes:
    """The stored photo of an example; empty when unknown or not kept (CompreFace: 200, empty)."""
    if not could_be_id(example_id):
        return b""
    data = s.scalar(
        select(ExampleImage.data)
        .join(Example, Example.id == ExampleImage.example_id)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service.id, ExampleImage.example_id == example_id)
    )
    return data or b""


# --- embeddings by model (/migrate and the removal of a retired model's) ---------------------


def add_embedding(s: Session, *, example_id: str, embedding: np.ndarray, calculator: str) -> None:
    """Store another model's embedding of an example beside the ones it has (normalised, unlike
    CompreFace's /migrate quirk); one of the same model is replaced."""
    row = s.execute(
        select(Service, Embedding)
        .select_from(Example)
        .join(Subject, Subject.id == Example.subject_id)
        .join(Service, Service.id == Subject.service_id)
        .outerjoin(
            Embedding, (Embedding.example_id == Example.id) & (Embedding.calculator == calculator)
        )
        .where(Example.id == example_id)
    ).one_or_none()
    if row is None:
        return  # deleted while the migration ran
    service, stored = row
    version = _write(s, service, model_switch=True)
    vector = _normalized(embedding).tobytes()
    if stored is None:
        s.add(
            Embedding(
                example_id=example_id, calculator=calculator, vector=vector, service_id=service.id
            )
        )
    else:
        stored.vector = vector
    s.flush()
    # One example's change, not a reload: /migrate commits once per example, and every server
    # on either model follows it row by row.
    changes.record(
        s,
        service_id=service.id,
        version=version,
        kind=changes.Kind.EMBEDDED,
        examples=[example_id],
        calculator=calculator,
    )


def drop_embeddings(s: Session, *, calculator: str) -> int:
    """Delete every embedding `calculator` made, in every service; returns how many."""
    holders = s.scalars(
        select(Service)
        .where(
            select(Embedding.example_id)
            .join(Example, Example.id == Embedding.example_id)
            .join(Subject, Subject.id == Example.subject_id)
            .where(Subject.service_id == Service.id, Embedding.calculator == calculator)
            .exists()
        )
        .order_by(Service.id)
    ).all()
    for service in holders:
        version = _write(s, service, model_switch=True)
        changes.record(
            s,
            service_id=service.id,
            version=version,
            kind=changes.Kind.UNEMBEDDED,
            calculator=calculator,
        )
    return bulk_write(s, delete(Embedding).where(Embedding.calculator == calculator))
