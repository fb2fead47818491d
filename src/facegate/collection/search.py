"""Searching a service's examples by embedding: what a search answers, what both backends
implement, and the choice between them (`search_backend`, decisions.md D32).

Both backends find candidates on rounded vectors (the in-memory matrix's bfloat16, pgvector's
halfvec index) and rank them here on their exact float32 embeddings, so every similarity they
return is CompreFace's formula on the stored embedding, and the two answer alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, NamedTuple, Protocol

import numpy as np
import numpy.typing as npt

from facegate.engine.similarity import Scale, dots

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from facegate.db.tables import Service

Backend = Literal["memory", "pgvector"]


class Match(NamedTuple):
    example_id: str
    subject: str
    similarity: float


@dataclass(frozen=True)
class Candidate:
    """An example that may be among the best, with its exact stored embedding."""

    example_id: str
    subject_id: int
    subject: str
    vector: npt.NDArray[np.float32]


class Search(Protocol):
    """A service's examples, searched by embedding; thread-safe."""

    def search(
        self,
        service: Service,
        queries: np.ndarray,
        *,
        k: int = 1,
        per_subject: bool = False,
        min_similarity: float | None = None,
    ) -> list[list[Match]]:
        """For each query embedding (rows of `queries`), the `k` best examples by similarity,
        best first; `k=-1` returns every example.

        `per_subject`: only each subject's best example, so `k` counts subjects.
        `min_similarity`: matches below it are left out, so an empty list means "unknown"."""
        ...

    def best_of_subject(
        self, service: Service, queries: np.ndarray, *, subject_id: int
    ) -> list[Match] | None:
        """For each query embedding, the subject's example most similar to it; None when the
        subject has no example embedded by this model."""
        ...


def open_search(
    backend: Backend,
    sessions: sessionmaker[Session],
    *,
    calculator: str,
    dimensions: int,
    scale: Scale,
) -> Search:
    """The search of `backend` for this server's model; pgvector first prepares the database
    (SearchBackendUnavailable when it cannot)."""
    if backend == "pgvector":
        from facegate.collection.pgvector import PgvectorSearch

        return PgvectorSearch.open(
            sessions, calculator=calculator, dimensions=dimensions, scale=scale
        )
    from facegate.collection.index import IndexRegistry

    return IndexRegistry(sessions, calculator=calculator, scale=scale)


def rank(
    scale: Scale,
    query: npt.NDArray[np.float32],
    candidates: Sequence[Candidate],
    count: int,
    *,
    per_subject: bool = False,
    min_similarity: float | None = None,
) -> list[Match]:
    """The `count` best candidates by exact similarity to the normalised `query` (each
    subject's best only, with `per_subject`), those under `min_similarity` left out."""
    if not candidates:
        return []
    # Ordered by dot product: similarities of near-identical rows can tie in float32.
    products = dots(query, np.stack([c.vector for c in candidates]))
    values = scale.from_dots(products)
    order = np.argsort(-products, kind="stable")
    if per_subject:
        _, first = np.unique([candidates[i].subject_id for i in order], return_index=True)
        order = order[np.sort(first)]
    matches = [
        Match(candidates[i].example_id, candidates[i].subject, float(values[i]))
        for i in order[:count]
    ]
    if min_similarity is not None:
        # Compared as answers show it (5 places): a face shown as 1.0 passes 1.0.
        matches = [m for m in matches if round(m.similarity, 5) >= min_similarity]
    return matches
