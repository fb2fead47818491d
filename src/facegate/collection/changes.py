"""The ordered record of collection writes: one row per service version (decisions.md D28).

`facegate.collection.store` records each write in its own transaction, under the version the
write gave the service; `facegate.collection.index.IndexRegistry` reads the rows after the
version it holds and applies them to its in-memory matrix, in every process alike. Rows name
what changed (example ids, subject ids, names), never embeddings: those are read from the
`embeddings` table in the same snapshot, so a record is small and a row is written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from facegate.db.tables import CollectionChange

# How many of a service's latest writes the record keeps. A process further behind loads the
# service whole, which a write burst this long costs anyway; 100,000 small rows per service.
KEPT_CHANGES = 100_000
# Pruning runs once every this many versions, so a write usually costs one INSERT only.
PRUNE_EVERY = 1_000


class Kind(StrEnum):
    NONE = "none"  # the version moved and nothing an index holds changed (a subject created)
    EMBEDDED = "embedded"  # {examples, calculator}: examples gained that model's embedding
    REMOVED = "removed"  # {examples}: these examples are gone
    RENAMED = "renamed"  # {subject, name}
    MERGED = "merged"  # {source, target, name}: source's examples now belong to target
    CLEARED = "cleared"  # every example of the service is gone
    UNEMBEDDED = "unembedded"  # {calculator}: every embedding of that model is gone
    SET_ASIDE = "set_aside"  # {examples}: kept, but no search finds them (decisions.md D65)
    RESTORED = "restored"  # {examples}: set-aside examples searched again


@dataclass(frozen=True)
class Change:
    version: int
    kind: Kind
    detail: dict[str, Any]


def record(s: Session, *, service_id: int, version: int, kind: Kind, **detail: Any) -> None:
    """Record the write that gave the service `version`, in the caller's transaction."""
    s.add(CollectionChange(service_id=service_id, version=version, kind=kind, detail=detail))
    if version % PRUNE_EVERY == 0:
        s.execute(
            delete(CollectionChange).where(
                CollectionChange.service_id == service_id,
                CollectionChange.version <= version - KEPT_CHANGES,
            )
        )


def since(s: Session, *, service_id: int, held: int, current: int) -> list[Change] | None:
    """The service's writes that took it from version `held` to `current`, in order; None when
    the record no longer reaches back that far (pruned, or older than the record itself)."""
    rows = s.execute(
        select(CollectionChange.version, CollectionChange.kind, CollectionChange.detail)
        .where(
            CollectionChange.service_id == service_id,
            CollectionChange.version > held,
            CollectionChange.version <= current,
        )
        .order_by(CollectionChange.version)
    ).all()
    if [row.version for row in rows] != list(range(held + 1, current + 1)):
        return None
    return [Change(row.version, Kind(row.kind), row.detail or {}) for row in rows]
