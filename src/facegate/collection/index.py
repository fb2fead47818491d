"""The per-service in-memory matrix of normalised embeddings, and top-k search over it.

Each process keeps, per service, the embeddings of the current calculator as one float32 matrix,
loaded lazily. Writes committed by this process are applied in place (the store records them in
the session, the registry listens to the session factory's commits). Writes by other processes
(uvicorn workers, other servers on one PostgreSQL) are noticed by comparing `Service.version` at
every search: one indexed single-row query, so the next request after a write sees it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import changes, stored
from facegate.db.tables import Service
from facegate.engine.similarity import Scale, normalize
from facegate.errors import WrongEmbeddingSize
from facegate.metrics import STAGE_SECONDS

ID_DTYPE = "S36"  # example ids are UUID strings; fixed-width bytes keep a million of them in 36 MB


class Match(NamedTuple):
    example_id: str
    subject: str
    similarity: float


@dataclass
class _Collection:
    """One service's rows. Rows below `size` are never rewritten in place, so a search can read
    views of them without a lock while appends fill the spare capacity above `size`."""

    guid: str
    version: int
    vectors: np.ndarray  # (capacity, dim) float32
    ids: np.ndarray  # (capacity,) S36
    subjects: np.ndarray  # (capacity,) int64 subject ids
    size: int
    names: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(
        cls,
        guid: str,
        version: int,
        chunks: Iterable[Sequence[tuple[str, bytes, int]]],
        names: dict[int, str],
    ) -> _Collection:
        vectors, ids, subjects = [np.zeros((0, 0), dtype=np.float32)], [], []
        for chunk in chunks:
            blob = b"".join(row[1] for row in chunk)
            vectors.append(np.frombuffer(blob, dtype="<f4").reshape(len(chunk), -1))
            ids.append(np.array([row[0] for row in chunk], dtype=ID_DTYPE))
            subjects.append(np.fromiter((row[2] for row in chunk), np.int64, len(chunk)))
        matrix = np.concatenate(vectors[1:]).astype(np.float32, copy=False) if ids else vectors[0]
        return cls(
            guid=guid,
            version=version,
            vectors=matrix,
            ids=np.concatenate(ids) if ids else np.zeros(0, dtype=ID_DTYPE),
            subjects=np.concatenate(subjects) if ids else np.zeros(0, dtype=np.int64),
            size=len(matrix),
            names=names,
        )

    def snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        n = self.size
        return self.vectors[:n], self.ids[:n], self.subjects[:n], self.names

    def append(self, change: changes.ExampleAdded) -> None:
        dim = change.embedding.shape[0]
        if self.vectors.shape[1] != dim:
            if self.size:  # a vector of another size cannot join this matrix
                raise _Reload
            self.vectors = np.zeros((0, dim), dtype=np.float32)
            self.ids = np.zeros(0, dtype=ID_DTYPE)
            self.subjects = np.zeros(0, dtype=np.int64)
        if self.size == len(self.vectors):
            capacity = max(16, 2 * self.size)
            self.vectors = _grow(self.vectors, capacity)
            self.ids = _grow(self.ids, capacity)
            self.subjects = _grow(self.subjects, capacity)
        n = self.size
        self.vectors[n] = change.embedding
        self.ids[n] = change.example_id.encode()
        self.subjects[n] = change.subject_id
        # Readers only look names up, so adding a key in place is safe under the GIL.
        self.names[change.subject_id] = change.subject
        self.size = n + 1

    def remove(self, example_ids: tuple[str, ...]) -> None:
        if not example_ids:
            return
        vectors, ids, subjects, _ = self.snapshot()
        keep = ~np.isin(ids, np.array(example_ids, dtype=ID_DTYPE))
        self.vectors, self.ids, self.subjects = vectors[keep], ids[keep], subjects[keep]
        self.size = len(self.ids)

    def merge(self, change: changes.SubjectMerged) -> None:
        subjects = self.subjects.copy()
        subjects[subjects == change.source_id] = change.target_id
        self.subjects = subjects
        self.names[change.target_id] = change.target


class _Reload(Exception):
    """The cached collection cannot follow a change: drop it and load again on next search."""


def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


class IndexRegistry:
    """Every service's embedding matrix in this process; thread-safe."""

    def __init__(self, sessions: sessionmaker[Session], *, calculator: str, scale: Scale) -> None:
        self._sessions = sessions
        self.calculator = calculator
        self.scale = scale
        self._lock = threading.Lock()  # guards _collections and every _Collection's fields
        self._load_lock = threading.Lock()  # one load at a time, so a burst loads once
        self._collections: dict[int, _Collection] = {}
        event.listen(sessions, "after_commit", self._after_commit)
        event.listen(sessions, "after_soft_rollback", self._after_rollback)

    def close(self) -> None:
        """Stop following the session factory's commits."""
        event.remove(self._sessions, "after_commit", self._after_commit)
        event.remove(self._sessions, "after_soft_rollback", self._after_rollback)

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
        best first; `k=-1` returns every example. One matrix product for all queries.

        `per_subject`: only each subject's best example, so `k` counts subjects.
        `min_similarity`: matches below it are left out, so an empty list means "unknown"."""
        with STAGE_SECONDS.labels("search").time():
            return self._search(service, queries, k, per_subject, min_similarity)

    def _search(
        self,
        service: Service,
        queries: np.ndarray,
        k: int,
        per_subject: bool,
        min_similarity: float | None,
    ) -> list[list[Match]]:
        queries, vectors, ids, subjects, names = self._snapshot(service, queries)
        if len(vectors) == 0 or k == 0:
            return [[] for _ in queries]
        # Similarity falls as distance grows, and for unit vectors distance falls as the dot
        # product grows, so rank by dot product and compute exact similarities for the top k.
        scores = vectors @ queries.T  # (N, queries): BLAS gemm with the big matrix untransposed
        count = len(vectors) if k < 0 else min(k, len(vectors))
        results = []
        for query, column in zip(queries, scores.T, strict=True):
            top = _ranked(column, count, subjects if per_subject else None)
            matches = self._matches(query, top, vectors, ids, subjects, names)
            if min_similarity is not None:
                # Compared as answers show it (5 places): a face shown as 1.0 passes 1.0.
                matches = [m for m in matches if round(m.similarity, 5) >= min_similarity]
            results.append(matches)
        return results

    def best_of_subject(
        self, service: Service, queries: np.ndarray, *, subject_id: int
    ) -> list[Match] | None:
        """For each query embedding, the subject's example most similar to it; None when the
        subject has no example embedded by this model."""
        with STAGE_SECONDS.labels("search").time():
            queries, vectors, ids, subjects, names = self._snapshot(service, queries)
            rows = np.flatnonzero(subjects == subject_id)
            if len(rows) == 0:
                return None
            scores = vectors[rows] @ queries.T
            return [
                self._matches(query, rows[[np.argmax(column)]], vectors, ids, subjects, names)[0]
                for query, column in zip(queries, scores.T, strict=True)
            ]

    def _snapshot(
        self, service: Service, queries: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[int, str]]:
        """The queries normalised, and the service's rows they can be compared with."""
        queries = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        collection = self._current(service)
        with self._lock:
            vectors, ids, subjects, names = collection.snapshot()
        if len(vectors) and queries.shape[1] != vectors.shape[1]:
            raise WrongEmbeddingSize(queries.shape[1], vectors.shape[1])
        return queries, vectors, ids, subjects, names

    def _matches(
        self,
        query: np.ndarray,
        top: np.ndarray,
        vectors: np.ndarray,
        ids: np.ndarray,
        subjects: np.ndarray,
        names: dict[int, str],
    ) -> list[Match]:
        values = self.scale.similarities(query, vectors[top])
        return [
            Match(ids[i].decode(), names[int(subjects[i])], float(value))
            for i, value in zip(top, values, strict=True)
        ]

    def _current(self, service: Service) -> _Collection:
        with self._sessions() as s:
            version = stored.service_version(s, service_id=service.id)
        if version is None:  # deleted, by this process or another
            with self._lock:
                self._collections.pop(service.id, None)
            return _Collection.load(service.guid, 0, [], {})
        if (cached := self._cached(service, version)) is not None:
            return cached
        with self._load_lock:
            if (cached := self._cached(service, version)) is not None:
                return cached  # loaded by another thread meanwhile
            loaded = self._load(service)
            with self._lock:
                cached = self._collections.get(service.id)
                # A commit of this process may have moved the cache past what we read.
                if cached is None or cached.guid != service.guid or cached.version < loaded.version:
                    self._collections[service.id] = loaded
                    return loaded
                return cached

    def _cached(self, service: Service, version: int) -> _Collection | None:
        """The loaded collection of this very service (not a recreated id) at this version."""
        with self._lock:
            cached = self._collections.get(service.id)
        if cached is not None and cached.guid == service.guid and cached.version == version:
            return cached
        return None

    def _load(self, service: Service) -> _Collection:
        # Read the version before and after the rows: equal values mean no write committed in
        # between, so the rows are exactly that version's (any write bumps it).
        with self._sessions() as s:
            while True:
                before = stored.service_version(s, service_id=service.id) or 0
                names = stored.subject_names(s, service_id=service.id)
                chunks = stored.collection_rows(
                    s, service_id=service.id, calculator=self.calculator
                )
                loaded = _Collection.load(service.guid, before, chunks, names)
                after = stored.service_version(s, service_id=service.id) or 0
                s.rollback()  # end any read snapshot so the next round sees new commits
                if before == after:
                    return loaded

    def _after_commit(self, session: Session) -> None:
        committed = changes.pop_changes(session)
        with self._lock:
            for change in committed:
                self._apply(change)

    def _after_rollback(self, session: Session, _previous: object) -> None:
        changes.pop_changes(session)

    def _apply(self, change: changes.Change) -> None:
        collection = self._collections.get(change.service_id)
        if collection is None:
            return  # not loaded here: the next search loads it
        if isinstance(change, changes.ServiceDeleted) or change.version != collection.version + 1:
            del self._collections[change.service_id]  # gone, or missed another process's write
            return
        try:
            match change:
                case changes.ExampleReembedded() if change.previous == self.calculator:
                    raise _Reload  # a vector of the matrix itself changed
                case changes.ExampleAdded() if change.calculator == self.calculator:
                    collection.append(change)
                case changes.ExamplesRemoved():
                    collection.remove(change.example_ids)
                case changes.SubjectRenamed():
                    collection.names[change.subject_id] = change.name
                case changes.SubjectMerged():
                    collection.merge(change)
                case changes.CollectionReset():
                    raise _Reload
        except _Reload:
            del self._collections[change.service_id]
            return
        collection.version = change.version


def _ranked(scores: np.ndarray, count: int, subjects: np.ndarray | None) -> np.ndarray:
    """Rows of the `count` best scores, best first; with `subjects`, each subject's best row
    only (so `count` counts subjects)."""
    if count == 1:  # the usual prediction_count: argmax is ten times cheaper than a partition
        return np.array([np.argmax(scores)])
    if subjects is not None:
        order = np.argsort(-scores, kind="stable")
        _, first = np.unique(subjects[order], return_index=True)  # each subject's best place
        return order[np.sort(first)][:count]
    top = np.argpartition(scores, len(scores) - count)[len(scores) - count :]
    return top[np.argsort(-scores[top], kind="stable")]
