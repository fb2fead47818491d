"""Stored embeddings read by calculator: what the in-memory index loads and re-scores with, what
the consistence status and /healthz count and what /migrate embeds. Read-only: every write is
`collection.store`'s."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from facegate.db.tables import Embedding, Example, ExampleImage, Service, Subject


def service_version(s: Session, *, service_id: int) -> int | None:
    """The service's current version, or None once it is deleted."""
    return s.scalar(select(Service.version).where(Service.id == service_id))


def collection_rows(
    s: Session, *, service_id: int, calculator: str, chunk: int = 10_000
) -> Iterator[Sequence[tuple[str, bytes, int]]]:
    """(example id, embedding bytes, subject id) of one calculator's examples that are not set
    aside (decisions.md D65), in chunks, so loading a million rows never holds them all as
    Python objects."""
    result = s.execute(
        select(Example.id, Embedding.vector, Subject.id)
        .join(Subject, Subject.id == Example.subject_id)
        .join(Embedding, Embedding.example_id == Example.id)
        .where(
            Subject.service_id == service_id,
            Embedding.calculator == calculator,
            Example.set_aside_at.is_(None),
        )
    )
    # Chunks of a client-side result, not yield_per: a PostgreSQL server-side cursor is planned
    # for fast start, and with stale statistics (after a bulk load) picked a nested loop that
    # took minutes for 100k rows.
    for part in result.partitions(chunk):
        yield [(example_id, blob, subject_id) for example_id, blob, subject_id in part]


def embedded_rows(
    s: Session, *, calculator: str, example_ids: Collection[str]
) -> dict[str, tuple[bytes, int, str]]:
    """Example id -> (embedding bytes, subject id, subject name) of those of `example_ids` that
    still exist, are not set aside and that `calculator` embedded (what a process applies of
    others' writes)."""
    found: dict[str, tuple[bytes, int, str]] = {}
    for batch in _batches(example_ids):
        rows = s.execute(
            select(Example.id, Embedding.vector, Subject.id, Subject.name)
            .join(Subject, Subject.id == Example.subject_id)
            .join(Embedding, Embedding.example_id == Example.id)
            .where(
                Embedding.calculator == calculator,
                Example.id.in_(batch),
                Example.set_aside_at.is_(None),
            )
        )
        found |= {example_id: (blob, subject, name) for example_id, blob, subject, name in rows}
    return found


def vectors(
    s: Session, *, calculator: str, example_ids: Collection[str]
) -> dict[str, npt.NDArray[np.float32]]:
    """The exact stored embeddings that `calculator` made of these examples (the index keeps
    rounded copies and re-scores its best candidates with these)."""
    found: dict[str, npt.NDArray[np.float32]] = {}
    for batch in _batches(example_ids):
        rows = s.execute(
            select(Embedding.example_id, Embedding.vector).where(
                Embedding.calculator == calculator, Embedding.example_id.in_(batch)
            )
        )
        found |= {example_id: as_vector(blob) for example_id, blob in rows}
    return found


# Ids looked up per query: SQLite allows only so many bound parameters in one statement.
IDS_PER_QUERY = 500


def _batches(ids: Collection[str]) -> Iterator[list[str]]:
    listed = list(ids)
    for start in range(0, len(listed), IDS_PER_QUERY):
        yield listed[start : start + IDS_PER_QUERY]


def service_embeddings(s: Session, *, service_id: int) -> dict[str, dict[str, bytes]]:
    """Example id -> calculator -> embedding bytes, for every example of the service (export,
    clone)."""
    rows = s.execute(
        select(Embedding.example_id, Embedding.calculator, Embedding.vector)
        .join(Example, Example.id == Embedding.example_id)
        .join(Subject, Subject.id == Example.subject_id)
        .where(Subject.service_id == service_id)
    )
    found: dict[str, dict[str, bytes]] = {}
    for example_id, calculator, blob in rows:
        found.setdefault(example_id, {})[calculator] = blob
    return found


def vector(s: Session, *, example_id: str, calculator: str) -> npt.NDArray[np.float32] | None:
    """One example's embedding by `calculator`; None when that model has not embedded it."""
    return vectors(s, calculator=calculator, example_ids=[example_id]).get(example_id)


def models_of(s: Session, *, example_id: str) -> list[str]:
    """The calculators that embedded an example."""
    return list(
        s.scalars(
            select(Embedding.calculator)
            .where(Embedding.example_id == example_id)
            .order_by(Embedding.calculator)
        )
    )


def as_vector(blob: bytes) -> npt.NDArray[np.float32]:
    """Stored embedding bytes (float32, little-endian) as a vector."""
    return np.frombuffer(blob, dtype="<f4").astype(np.float32)


def subject_names(s: Session, *, service_id: int) -> dict[int, str]:
    """Subject id -> name for every subject of the service."""
    rows = s.execute(select(Subject.id, Subject.name).where(Subject.service_id == service_id))
    return {subject_id: name for subject_id, name in rows}


def _unembedded(calculator: str) -> ColumnElement[bool]:
    """Examples that `calculator` has not embedded yet."""
    mine = select(Embedding.example_id).where(
        Embedding.example_id == Example.id, Embedding.calculator == calculator
    )
    return ~mine.exists()


def has_stale_embeddings(s: Session, *, calculator: str) -> bool:
    """Whether some example lacks `calculator`'s embedding (consistence status)."""
    return s.scalar(select(Example.id).where(_unembedded(calculator)).limit(1)) is not None


def stale_count(s: Session, *, calculator: str, without_photo: bool = False) -> int:
    """How many examples lack `calculator`'s embedding (only those without a kept photo)."""
    query = select(func.count()).select_from(Example).where(_unembedded(calculator))
    if without_photo:
        kept = select(ExampleImage.example_id).where(ExampleImage.example_id == Example.id)
        query = query.where(~kept.exists())
    return int(s.scalar(query) or 0)


def stale_examples(s: Session, *, calculator: str) -> list[str]:
    """Ids of examples lacking `calculator`'s embedding that /migrate can embed (they keep a
    photo), in a fixed order, so progress reads the same when a migration is resumed."""
    return list(
        s.scalars(
            select(Example.id)
            .join(ExampleImage, ExampleImage.example_id == Example.id)
            .where(_unembedded(calculator))
            .order_by(Example.id)
        )
    )


@dataclass(frozen=True)
class Coverage:
    """How many examples there are, and how many of them each model has embedded."""

    examples: int
    by_model: dict[str, int]


def coverage(s: Session) -> Coverage:
    """Examples in every service, and the embeddings of each model among them."""
    by_model = s.execute(select(Embedding.calculator, func.count()).group_by(Embedding.calculator))
    return Coverage(
        examples=int(s.scalar(select(func.count()).select_from(Example)) or 0),
        by_model={calculator: int(count) for calculator, count in by_model},
    )


def stored_image(s: Session, *, example_id: str) -> bytes | None:
    """The kept photo of an example, whatever its service (for /migrate)."""
    return s.scalar(select(ExampleImage.data).where(ExampleImage.example_id == example_id))
