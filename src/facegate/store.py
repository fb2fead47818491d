"""Data access: applications, services, subjects and examples, with CompreFace's semantics.

Plain functions taking a Session first and keyword-only arguments. The caller owns the
transaction. Every write to a collection starts by bumping `Service.version` (which also takes
the service's write lock: a row lock on PostgreSQL, the database lock on SQLite, so writes to one
collection are serialised) and records what it changed in `session.info`, which
`facegate.index.IndexRegistry` applies to its in-memory matrix once the transaction commits
(`facegate.changes`).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import CursorResult, Delete, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from facegate import changes
from facegate.db.tables import (
    Application,
    Example,
    ExampleImage,
    RequestStat,
    ServerFlag,
    Service,
    Subject,
    new_uuid,
)
from facegate.engine.similarity import normalize
from facegate.errors import (
    ExampleNotFound,
    NameNotUnique,
    SubjectAlreadyExists,
    SubjectNotFound,
)

SERVICE_TYPES = ("recognition", "detection", "verification")
DEFAULT_APPLICATION = "Default application"
# Spring Data's Pageable defaults, which CompreFace's GET /faces uses unchanged.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 2000


# --- results ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ServiceSummary:
    service: Service
    subject_count: int
    example_count: int


@dataclass(frozen=True)
class ExampleRef:
    """An example as clients see it: `{"image_id", "subject"}`."""

    image_id: str
    subject: str


@dataclass(frozen=True)
class Page:
    """One page of examples, numbered from 0 like Spring's Pageable."""

    items: list[ExampleRef]
    total_elements: int
    page_number: int
    page_size: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_elements / self.page_size)


def _write(s: Session, service: Service) -> int:
    """Bump the service's version (taking its write lock) and return the new value."""
    version = s.execute(
        update(Service)
        .where(Service.id == service.id)
        .values(version=Service.version + 1)
        .returning(Service.version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    set_committed_value(service, "version", version)
    return version


# --- applications -----------------------------------------------------------------------------


def create_application(s: Session, *, name: str) -> Application:
    if s.scalar(select(Application.id).where(Application.name == name)) is not None:
        raise NameNotUnique(name)
    application = Application(name=name)
    s.add(application)
    s.flush()
    return application


def find_application(s: Session, *, name: str) -> Application | None:
    return s.scalar(select(Application).where(Application.name == name))


def default_application(s: Session) -> Application:
    """The application services go to when none is named; created on first use."""
    return find_application(s, name=DEFAULT_APPLICATION) or create_application(
        s, name=DEFAULT_APPLICATION
    )


# --- services ---------------------------------------------------------------------------------


def _check_service_name(s: Session, *, app_id: int, name: str) -> None:
    clash = select(Service.id).where(Service.app_id == app_id, Service.name == name)
    if s.scalar(clash) is not None:
        raise NameNotUnique(name)


def create_service(s: Session, *, app: Application, name: str, type: str) -> Service:
    if type not in SERVICE_TYPES:
        raise ValueError(f"service type must be one of {SERVICE_TYPES}, not {type!r}")
    _check_service_name(s, app_id=app.id, name=name)
    service = Service(app_id=app.id, name=name, type=type, version=0)
    s.add(service)
    s.flush()
    return service


def service_by_key(s: Session, *, api_key: str, type: str) -> Service | None:
    return s.scalar(select(Service).where(Service.api_key == api_key, Service.type == type))


def service_by_guid(s: Session, *, guid: str) -> Service | None:
    return s.scalar(select(Service).where(Service.guid == guid))


def list_services(s: Session, *, app: Application | None = None) -> list[ServiceSummary]:
    subjects = (
        select(Subject.service_id, func.count().label("n")).group_by(Subject.service_id).subquery()
    )
    examples = (
        select(Subject.service_id, func.count(Example.id).label("n"))
        .join(Example, Example.subject_id == Subject.id)
        .group_by(Subject.service_id)
        .subquery()
    )
    query = (
        select(Service, func.coalesce(subjects.c.n, 0), func.coalesce(examples.c.n, 0))
        .outerjoin(subjects, subjects.c.service_id == Service.id)
        .outerjoin(examples, examples.c.service_id == Service.id)
        .order_by(Service.app_id, Service.name)
    )
    if app is not None:
        query = query.where(Service.app_id == app.id)
    return [
        ServiceSummary(service, n_subjects, n_examples)
        for service, n_subjects, n_examples in s.execute(query)
    ]


def rename_service(s: Session, *, service: Service, name: str) -> None:
    if name != service.name:
        _check_service_name(s, app_id=service.app_id, name=name)
        service.name = name
        s.flush()


def regenerate_key(s: Session, *, service: Service) -> str:
    service.api_key = new_uuid()
    s.flush()
    return service.api_key


def delete_service(s: Session, *, service: Service) -> None:
    """Delete the service with its collection and statistics (ON DELETE CASCADE)."""
    s.execute(delete(Service).where(Service.id == service.id))
    s.expunge(service)
    changes.record(s, changes.ServiceDeleted(service.id, service.version))


def clone_service(s: Session, *, service: Service, name: str) -> Service:
    """A new service of the same type and application with a copy of the whole collection."""
    clone = create_service(s, app=service.application, name=name, type=service.type)
    subjects = s.execute(
        select(Subject.id, Subject.name, Subject.name_key).where(Subject.service_id == service.id)
    ).all()
    for subject_id, subject_name, name_key in subjects:
        copy = Subject(service_id=clone.id, name=subject_name, name_key=name_key)
        s.add(copy)
        s.flush()
        rows = s.execute(
            select(Example.id, Example.embedding, Example.calculator, ExampleImage.data)
            .outerjoin(ExampleImage, ExampleImage.example_id == Example.id)
            .where(Example.subject_id == subject_id)
        ).all()
        for _, embedding, calculator, image in rows:
            example_id = new_uuid()
            s.add(
                Example(
                    id=example_id, subject_id=copy.id, embedding=embedding, calculator=calculator
                )
            )
            if image is not None:
                s.add(ExampleImage(example_id=example_id, data=image))
        s.flush()
    return clone


# --- request statistics -----------------------------------------------------------------------


def count_request(s: Session, *, service: Service, day: date | None = None) -> None:
    """Add one to today's request count: a single upsert, safe from any number of processes."""
    day = day or datetime.now(UTC).date()
    dialect = postgresql if s.get_bind().dialect.name == "postgresql" else sqlite
    statement = dialect.insert(RequestStat).values(service_id=service.id, day=day, count=1)
    s.execute(
        statement.on_conflict_do_update(
            index_elements=[RequestStat.service_id, RequestStat.day],
            set_={"count": RequestStat.count + 1},
        )
    )


def request_counts(s: Session, *, service: Service, since: date) -> list[tuple[date, int]]:
    """Requests per day from `since` on, oldest first; days without requests are absent."""
    rows = s.execute(
        select(RequestStat.day, RequestStat.count)
        .where(RequestStat.service_id == service.id, RequestStat.day >= since)
        .order_by(RequestStat.day)
    )
    return [(day, count) for day, count in rows]


# --- subjects ---------------------------------------------------------------------------------


def _name_key(name: str) -> str:
    return name.lower()


def _find_subject(s: Session, *, service: Service, name: str) -> Subject | None:
    return s.scalar(
        select(Subject).where(Subject.service_id == service.id, Subject.name_key == _name_key(name))
    )


def _example_ids(s: Session, *, subject_id: int) -> tuple[str, ...]:
    return tuple(s.scalars(select(Example.id).where(Example.subject_id == subject_id)))


def _deleted(s: Session, statement: Delete) -> int:
    """Run a bulk DELETE and return how many rows it removed."""
    result = s.execute(statement.execution_options(synchronize_session=False))
    return cast("CursorResult[Any]", result).rowcount


def create_subject(s: Session, *, service: Service, name: str) -> Subject:
    version = _write(s, service)
    if _find_subject(s, service=service, name=name) is not None:
        raise SubjectAlreadyExists()
    subject = Subject(service_id=service.id, name=name, name_key=_name_key(name))
    s.add(subject)
    s.flush()
    changes.record(s, changes.Change(service.id, version))
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
        subject.name, subject.name_key = new, _name_key(new)
        s.flush()
        changes.record(s, changes.SubjectRenamed(service.id, version, subject.id, new))
        return True
    s.execute(
        update(Example)
        .where(Example.subject_id == subject.id)
        .values(subject_id=target.id)
        .execution_options(synchronize_session=False)
    )
    s.execute(delete(Subject).where(Subject.id == subject.id))
    s.expunge(subject)
    changes.record(
        s, changes.SubjectMerged(service.id, version, subject.id, target.id, target.name)
    )
    return True


def delete_subject(s: Session, *, service: Service, name: str) -> str:
    """Delete a subject (found case-insensitively) with its examples; returns its stored name."""
    version = _write(s, service)
    subject = _find_subject(s, service=service, name=name)
    if subject is None:
        raise SubjectNotFound(name)
    removed = _example_ids(s, subject_id=subject.id)
    s.execute(delete(Subject).where(Subject.id == subject.id))
    s.expunge(subject)
    changes.record(s, changes.ExamplesRemoved(service.id, version, removed))
    return subject.name


def delete_all_subjects(s: Session, *, service: Service) -> int:
    """Delete every subject and example of the service; returns the number of subjects."""
    version = _write(s, service)
    count = _deleted(s, delete(Subject).where(Subject.service_id == service.id))
    changes.record(s, changes.CollectionReset(service.id, version))
    return count


# --- examples ---------------------------------------------------------------------------------


def add_example(
    s: Session,
    *,
    service: Service,
    subject: str,
    embedding: np.ndarray,
    calculator: str,
    image: bytes | None,
) -> Example:
    """Store a face of `subject` (created if new); the embedding is stored L2-normalised."""
    version = _write(s, service)
    owner = _find_subject(s, service=service, name=subject)
    if owner is None:
        owner = Subject(service_id=service.id, name=subject, name_key=_name_key(subject))
        s.add(owner)
        s.flush()
    vector = _normalized(embedding)
    example = Example(
        id=new_uuid(), subject_id=owner.id, embedding=vector.tobytes(), calculator=calculator
    )
    s.add(example)
    if image is not None:
        s.add(ExampleImage(example_id=example.id, data=image))
    s.flush()
    changes.record(
        s,
        changes.ExampleAdded(
            service.id, version, example.id, owner.id, owner.name, vector, calculator
        ),
    )
    return example


def _normalized(embedding: npt.ArrayLike) -> npt.NDArray[np.float32]:
    """The L2-normalised float32 vector that is stored (little-endian bytes) and indexed."""
    vector: npt.NDArray[np.float32] = normalize(np.asarray(embedding, dtype=np.float32).ravel())
    return vector


def embedding_of(example: Example) -> npt.NDArray[np.float32]:
    """The stored (L2-normalised) embedding of an example as a float32 vector."""
    return np.frombuffer(example.embedding, dtype="<f4").astype(np.float32)


def list_examples(
    s: Session, *, service: Service, subject: str | None, page: int, size: int
) -> Page:
    """CompreFace's GET /faces: the subject filter is exact and case-sensitive."""
    page = max(page, 0)
    size = DEFAULT_PAGE_SIZE if size < 1 else min(size, MAX_PAGE_SIZE)
    query = select(Example.id, Subject.name).join(Subject, Subject.id == Example.subject_id)
    query = query.where(Subject.service_id == service.id)
    if subject is not None:
        query = query.where(Subject.name == subject)
    total = s.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = s.execute(query.order_by(Example.created_at, Example.id).offset(page * size).limit(size))
    items = [ExampleRef(example_id, name) for example_id, name in rows]
    return Page(items=items, total_elements=total, page_number=page, page_size=size)


def get_example(s: Session, *, service: Service, example_id: str) -> Example:
    """The example with this id in this service, or ExampleNotFound (404, code 44)."""
    example = s.scalar(
        select(Example)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service.id, Example.id == example_id)
    )
    if example is None:
        raise ExampleNotFound(example_id)
    return example


def delete_examples(s: Session, *, service: Service, ids: Collection[str]) -> list[ExampleRef]:
    """Delete the examples with these ids; unknown ids are skipped. Subjects stay."""
    version = _write(s, service)
    found = [
        ExampleRef(example_id, name)
        for example_id, name in s.execute(
            select(Example.id, Subject.name)
            .join(Subject, Subject.id == Example.subject_id)
            .where(Subject.service_id == service.id, Example.id.in_(list(ids)))
        )
    ]
    removed = tuple(ref.image_id for ref in found)
    if removed:
        s.execute(delete(Example).where(Example.id.in_(removed)))
    changes.record(s, changes.ExamplesRemoved(service.id, version, removed))
    return found


def delete_example(s: Session, *, service: Service, example_id: str) -> ExampleRef:
    deleted = delete_examples(s, service=service, ids=[example_id])
    if not deleted:
        raise ExampleNotFound(example_id)
    return deleted[0]


def delete_examples_by_subject(s: Session, *, service: Service, subject: str | None) -> int:
    """DELETE /faces: a subject's examples and the subject itself (0 if unknown), or with no
    subject every example of the service (API.md decision 2). Returns the examples deleted."""
    if subject is None:
        version = _write(s, service)
        in_service = select(Subject.id).where(Subject.service_id == service.id)
        count = _deleted(s, delete(Example).where(Example.subject_id.in_(in_service)))
        changes.record(s, changes.CollectionReset(service.id, version))
        return count
    version = _write(s, service)
    owner = _find_subject(s, service=service, name=subject)
    if owner is None:
        changes.record(s, changes.Change(service.id, version))
        return 0
    removed = _example_ids(s, subject_id=owner.id)
    s.execute(delete(Subject).where(Subject.id == owner.id))
    s.expunge(owner)
    changes.record(s, changes.ExamplesRemoved(service.id, version, removed))
    return len(removed)


def example_image(s: Session, *, service: Service, example_id: str) -> bytes:
    """The stored photo of an example; empty when unknown or not kept (CompreFace: 200, empty)."""
    data = s.scalar(
        select(ExampleImage.data)
        .join(Example, Example.id == ExampleImage.example_id)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service.id, ExampleImage.example_id == example_id)
    )
    return data or b""


# --- embeddings by calculator: the index's load, consistence status and /migrate ---------------


def service_version(s: Session, *, service_id: int) -> int | None:
    """The service's current version, or None once it is deleted."""
    return s.scalar(select(Service.version).where(Service.id == service_id))


def collection_rows(
    s: Session, *, service_id: int, calculator: str, chunk: int = 10_000
) -> Iterator[Sequence[tuple[str, bytes, int]]]:
    """(example id, embedding bytes, subject id) of one calculator's examples, in chunks, so
    loading a million rows never holds them all as Python objects."""
    result = s.execute(
        select(Example.id, Example.embedding, Subject.id)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service_id, Example.calculator == calculator)
    )
    # Chunks of a client-side result, not yield_per: a PostgreSQL server-side cursor is planned
    # for fast start, and with stale statistics (after a bulk load) picked a nested loop that
    # took minutes for 100k rows.
    for part in result.partitions(chunk):
        yield [(example_id, blob, subject_id) for example_id, blob, subject_id in part]


def subject_names(s: Session, *, service_id: int) -> dict[int, str]:
    """Subject id -> name for every subject of the service."""
    rows = s.execute(select(Subject.id, Subject.name).where(Subject.service_id == service_id))
    return {subject_id: name for subject_id, name in rows}


def has_stale_embeddings(s: Session, *, calculator: str) -> bool:
    """Whether some example was embedded by another calculator (consistence status)."""
    stale = select(Example.id).where(Example.calculator != calculator).limit(1)
    return s.scalar(stale) is not None


def stale_examples(s: Session, *, calculator: str) -> list[str]:
    """Ids of examples from another calculator that /migrate can re-embed (they keep a photo)."""
    return list(
        s.scalars(
            select(Example.id)
            .join(ExampleImage, ExampleImage.example_id == Example.id)
            .where(Example.calculator != calculator)
        )
    )


def replace_embedding(
    s: Session, *, example_id: str, embedding: np.ndarray, calculator: str
) -> None:
    """Store a re-computed embedding (normalised, unlike CompreFace's /migrate quirk)."""
    example = s.get(Example, example_id)
    if example is None:
        return  # deleted while the migration ran
    service = s.scalar(
        select(Service)
        .join(Subject, Subject.service_id == Service.id)
        .where(Subject.id == example.subject_id)
    )
    assert service is not None  # an example always belongs to a subject of a service
    version = _write(s, service)
    example.embedding = _normalized(embedding).tobytes()
    example.calculator = calculator
    s.flush()
    changes.record(s, changes.CollectionReset(service.id, version))


# --- server flags: the /migrate lock every process sees -----------------------------------------

MIGRATION_FLAG = "migration"
# A migration refreshes its flag after every example; one silent this long died with its process.
FLAG_STALE_AFTER = timedelta(minutes=5)


def flag_is_set(s: Session, *, name: str) -> bool:
    """Whether the flag is held and its holder was alive within FLAG_STALE_AFTER."""
    updated = s.scalar(select(ServerFlag.updated_at).where(ServerFlag.name == name))
    if updated is None:
        return False
    if updated.tzinfo is None:  # SQLite returns naive datetimes
        updated = updated.replace(tzinfo=UTC)
    return datetime.now(UTC) - updated < FLAG_STALE_AFTER


def take_flag(s: Session, *, name: str) -> bool:
    """Set the flag unless a live holder has it; False when someone else holds it."""
    if flag_is_set(s, name=name):
        return False
    s.execute(delete(ServerFlag).where(ServerFlag.name == name))
    s.add(ServerFlag(name=name, updated_at=datetime.now(UTC)))
    s.flush()  # a second process inserting at once fails here on the primary key
    return True


def refresh_flag(s: Session, *, name: str) -> None:
    s.execute(
        update(ServerFlag).where(ServerFlag.name == name).values(updated_at=datetime.now(UTC))
    )


def drop_flag(s: Session, *, name: str) -> None:
    s.execute(delete(ServerFlag).where(ServerFlag.name == name))


def stored_image(s: Session, *, example_id: str) -> bytes | None:
    """The kept photo of an example, whatever its service (for /migrate)."""
    return s.scalar(select(ExampleImage.data).where(ExampleImage.example_id == example_id))
