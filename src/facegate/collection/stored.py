"""Stored embeddings read by calculator: what the in-memory index loads, what the consistence
status counts and what /migrate re-embeds. Read-only, apart from `collection.store`, which holds
every write (a re-embedded example included)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from facegate.db.tables import Example, ExampleImage, Service, Subject


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


def stale_count(s: Session, *, calculator: str, without_photo: bool = False) -> int:
    """How many examples another calculator embedded (only those without a kept photo)."""
    query = select(func.count()).select_from(Example).where(Example.calculator != calculator)
    if without_photo:
        kept = select(ExampleImage.example_id).where(ExampleImage.example_id == Example.id)
        query = query.where(~kept.exists())
    return int(s.scalar(query) or 0)


def stale_examples(s: Session, *, calculator: str) -> list[str]:
    """Ids of examples from another calculator that /migrate can re-embed (they keep a photo),
    in a fixed order, so progress reads the same when a migration is resumed."""
    return list(
        s.scalars(
            select(Example.id)
            .join(ExampleImage, ExampleImage.example_id == Example.id)
            .where(Example.calculator != calculator)
            .order_by(Example.id)
        )
    )


def stored_image(s: Session, *, example_id: str) -> bytes | None:
    """The kept photo of an example, whatever its service (for /migrate)."""
    return s.scalar(select(ExampleImage.data).where(ExampleImage.example_id == example_id))
