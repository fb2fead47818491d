"""What a committed write changed in a collection, so the in-memory index can follow it.

`facegate.collection.store` records these in the session as it writes;
`facegate.collection.index.IndexRegistry` takes them when the transaction commits (and drops them
when it rolls back).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sqlalchemy.orm import Session

KEY = "facegate.collection_changes"


@dataclass(frozen=True)
class Change:
    """A write that left the index's rows as they were; `version` is Service.version after it."""

    service_id: int
    version: int


@dataclass(frozen=True)
class ExampleAdded(Change):
    example_id: str
    subject_id: int
    subject: str
    embedding: np.ndarray  # float32, L2-normalised
    calculator: str


@dataclass(frozen=True)
class ExampleReembedded(ExampleAdded):
    """/migrate gave an example a new embedding; `previous` is the calculator of the old one."""

    previous: str


@dataclass(frozen=True)
class ExamplesRemoved(Change):
    example_ids: tuple[str, ...]


@dataclass(frozen=True)
class SubjectRenamed(Change):
    subject_id: int
    name: str


@dataclass(frozen=True)
class SubjectMerged(Change):
    source_id: int
    target_id: int
    target: str


@dataclass(frozen=True)
class CollectionReset(Change):
    """Too much changed to follow row by row: reload the service from the database."""


@dataclass(frozen=True)
class ServiceDeleted(Change):
    """The service is gone: forget its rows (other processes notice its missing version)."""


def record(s: Session, change: Change) -> None:
    s.info.setdefault(KEY, []).append(change)


def pop_changes(s: Session) -> list[Change]:
    """Take the changes recorded in this session (at commit, or to drop them at rollback)."""
    changes: list[Change] = s.info.pop(KEY, [])
    return changes
