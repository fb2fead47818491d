"""The per-service in-memory search: rounded embeddings in memory, exact similarities out.

Each process keeps, per service, its model's embeddings as one matrix of bfloat16 values (the
upper half of each float32: half the memory), loaded at the service's first search. Every
search reads the service's version (one indexed single-row query). When a write of any process
moved it, the search reads the record of the writes since the version it holds
(`collection.changes`) and applies them; it loads the service whole only the first time, or
when that record no longer reaches back (decisions.md D28). The rounded scores pick the
candidates; those that could be among the best are re-scored on their exact float32
embeddings, read from the database, so every similarity returned is the float32 one
(decisions.md D30).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import changes, reads
from facegate.collection.search import Candidate, Match, rank
from facegate.db.session import snapshot
from facegate.db.tables import Service
from facegate.engine.similarity import Scale, normalize
from facegate.errors import WrongEmbeddingSize
from facegate.metrics import INDEX_UPDATES, STAGE_SECONDS

log = logging.getLogger(__name__)

ID_DTYPE = "S36"  # example ids are UUID strings; fixed-width bytes keep a million of them in 36 MB
# A rounded value is within 2^-9 of its float32 (relative), so a rounded dot product of unit
# vectors is within 2^-9 of the exact one, plus float32 summation error (under 2^-12 at 512
# dimensions). Two rows whose rounded scores differ by less than twice that may swap places.
MARGIN = 2 * (2**-9 + 2**-12)
# Rows widened to float32 at a time while scoring: 4,096 x 512 x 4 bytes stays in cache.
CHUNK = 4096

Rows = npt.NDArray[np.intp]


def rounded(vectors: npt.NDArray[np.float32]) -> npt.NDArray[np.uint16]:
    """Float32 rows as bfloat16 bits (the upper 16 bits, rounded to nearest, ties to even)."""
    bits = np.ascontiguousarray(vectors, dtype="<f4").view(np.uint32)
    halves: npt.NDArray[np.uint16] = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)
    return halves


def rounded_scores(
    matrix: npt.NDArray[np.uint16], queries: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """(rows, queries) dot products of bfloat16 rows with float32 queries, the rows widened to
    float32 a chunk at a time (numpy has no bfloat16 product). The products are numpy's own
    loops, not BLAS: a BLAS call per chunk paid its threads' hand-over each time, 10 to 20
    times the work itself on a busy 2-core machine (docs/performance.md)."""
    scores = np.empty((len(matrix), len(queries)), dtype=np.float32)
    wide = np.empty((min(CHUNK, len(matrix)), matrix.shape[1]), dtype=np.uint32)
    for start in range(0, len(matrix), CHUNK):
        part = matrix[start : start + CHUNK]
        rows = wide[: len(part)]
        np.copyto(rows, part)
        rows <<= 16
        for column, query in enumerate(queries):
            scores[start : start + len(part), column] = np.einsum(
                "ij,j->i", rows.view(np.float32), query
            )
    return scores


class _View(NamedTuple):
    """A collection's rows at one moment: later writes never change these arrays' rows."""

    vectors: npt.NDArray[np.uint16]
    ids: npt.NDArray[np.bytes_]
    subjects: npt.NDArray[np.int64]
    names: dict[int, str]


@dataclass
class _Collection:
    """One service's rows. Rows below `size` are never rewritten in place, so a search can read
    views of them while appends fill the spare capacity above `size`; the lock guards the
    fields, and is held for microseconds (never while reading the database)."""

    guid: str
    version: int
    vectors: npt.NDArray[np.uint16]  # (capacity, dim) bfloat16 bits
    ids: npt.NDArray[np.bytes_]  # (capacity,) S36
    subjects: npt.NDArray[np.int64]  # (capacity,) subject ids
    size: int
    names: dict[int, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(
        cls,
        guid: str,
        version: int,
        chunks: Iterable[Sequence[tuple[str, bytes, int]]],
        names: dict[int, str],
    ) -> _Collection:
        vectors, ids, subjects = [], [], []
        for chunk in chunks:  # rounded chunk by chunk: the float32 matrix is never whole
            blob = b"".join(row[1] for row in chunk)
            vectors.append(rounded(np.frombuffer(blob, dtype="<f4").reshape(len(chunk), -1)))
            ids.append(np.array([row[0] for row in chunk], dtype=ID_DTYPE))
            subjects.append(np.fromiter((row[2] for row in chunk), np.int64, len(chunk)))
        if not ids:
            return cls.empty(guid, version, names)
        # Room for an eighth more: the first write after a load appends without copying the
        # whole matrix (40 ms at 100,000 x 512); one concatenation, so one copy at most.
        size = sum(len(part) for part in ids)
        spare = size // 8
        return cls(
            guid,
            version,
            np.concatenate([*vectors, np.zeros((spare, vectors[0].shape[1]), np.uint16)]),
            np.concatenate([*ids, np.zeros(spare, dtype=ID_DTYPE)]),
            np.concatenate([*subjects, np.zeros(spare, dtype=np.int64)]),
            size,
            names,
        )

    @classmethod
    def empty(cls, guid: str, version: int, names: dict[int, str]) -> _Collection:
        return cls(
            guid,
            version,
            np.zeros((0, 0), dtype=np.uint16),
            np.zeros(0, dtype=ID_DTYPE),
            np.zeros(0, dtype=np.int64),
            0,
            names,
        )

    def view(self) -> _View:
        with self.lock:
            n = self.size
            return _View(self.vectors[:n], self.ids[:n], self.subjects[:n], self.names)

    def follow(
        self,
        log: list[changes.Change],
        embedded: dict[str, tuple[bytes, int, str]],
        *,
        calculator: str,
    ) -> None:
        """Apply the writes after this collection's version; `embedded` holds, as of the last
        of them, the rows of the examples they embedded with `calculator`."""
        with self.lock:
            for change in log:
                self._apply(change, embedded, calculator)
            self.version = log[-1].version

    def _apply(
        self, change: changes.Change, embedded: dict[str, tuple[bytes, int, str]], calculator: str
    ) -> None:
        detail = change.detail
        match change.kind:
            case changes.Kind.EMBEDDED if detail["calculator"] == calculator:
                self._add(detail["examples"], embedded)
            case changes.Kind.RESTORED:
                self._add(detail["examples"], embedded)
            case changes.Kind.REMOVED | changes.Kind.SET_ASIDE:
                self._remove(tuple(detail["examples"]))
            case changes.Kind.RENAMED:
                self.names[detail["subject"]] = detail["name"]
            case changes.Kind.MERGED:
                subjects = self.subjects.copy()
                subjects[subjects == detail["source"]] = detail["target"]
                self.subjects = subjects
                self.names[detail["target"]] = detail["name"]
            case changes.Kind.CLEARED:
                self._clear()
            case changes.Kind.UNEMBEDDED if detail["calculator"] == calculator:
                self._clear()

    def _add(self, examples: list[str], embedded: dict[str, tuple[bytes, int, str]]) -> None:
        """Append these examples' rows, replacing any they had (the same model embedded anew).
        Absent from `embedded`: deleted or set aside by a later write of the same log."""
        added = [example for example in examples if example in embedded]
        self._remove(tuple(added))
        for example in added:
            self._append(example, *embedded[example])

    def _append(self, example_id: str, blob: bytes, subject_id: int, subject: str) -> None:
        vector = rounded(np.frombuffer(blob, dtype="<f4"))
        if self.vectors.shape[1] != len(vector):
            if self.size:
                raise WrongEmbeddingSize(len(vector), self.vectors.shape[1])
            self.vectors = np.zeros((0, len(vector)), dtype=np.uint16)
        if self.size == len(self.vectors):
            capacity = max(16, 2 * self.size)
            self.vectors = _grow(self.vectors, capacity)
            self.ids = _grow(self.ids, capacity)
            self.subjects = _grow(self.subjects, capacity)
        n = self.size
        self.vectors[n] = vector
        self.ids[n] = example_id.encode()
        self.subjects[n] = subject_id
        # Readers only look names up, so adding a key in place is safe under the GIL.
        self.names[subject_id] = subject
        self.size = n + 1

    def _remove(self, example_ids: tuple[str, ...]) -> None:
        if not example_ids or not self.size:
            return
        n = self.size
        keep = ~np.isin(self.ids[:n], np.array(example_ids, dtype=ID_DTYPE))
        if keep.all():
            return
        self.vectors, self.ids = self.vectors[:n][keep], self.ids[:n][keep]
        self.subjects = self.subjects[:n][keep]
        self.size = len(self.ids)

    def _clear(self) -> None:
        self.vectors = np.zeros((0, self.vectors.shape[1]), dtype=np.uint16)
        self.ids = np.zeros(0, dtype=ID_DTYPE)
        self.subjects = np.zeros(0, dtype=np.int64)
        self.size = 0


def _grow(array: np.ndarray, capacity: int) -> np.ndarray:
    grown = np.zeros((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown


class IndexRegistry:
    """The `memory` search backend: every service's embedding matrix in this process;
    thread-safe."""

    def __init__(self, sessions: sessionmaker[Session], *, calculator: str, scale: Scale) -> None:
        self._sessions = sessions
        self.calculator = calculator
        self.scale = scale
        self._lock = threading.Lock()  # guards the two dicts, never held while reading
        self._collections: dict[int, _Collection] = {}
        # One update of a service at a time, so a burst after a write reads the record once;
        # other services' searches never wait on it.
        self._updating: dict[int, threading.Lock] = {}

    def search(
        self,
        service: Service,
        queries: np.ndarray,
        *,
        k: int = 1,
        per_subject: bool = False,
        min_similarity: float | None = None,
    ) -> list[list[Match]]:
        """See `Search.search`: one product of the rounded matrix with all the queries."""
        with STAGE_SECONDS.labels("search").time():
            queries, view = self._snapshot(service, queries)
            if len(view.ids) == 0 or k == 0:
                return [[] for _ in queries]
            count = len(view.ids) if k < 0 else min(k, len(view.ids))
            subjects = view.subjects if per_subject else None
            scores = rounded_scores(view.vectors, queries)
            rows = [_candidates(column, count, subjects) for column in scores.T]
            exact = self._exact(view, np.unique(np.concatenate(rows)))
            return [
                rank(
                    self.scale,
                    query,
                    [exact[row] for row in candidates if row in exact],
                    count,
                    per_subject=per_subject,
                    min_similarity=min_similarity,
                )
                for query, candidates in zip(queries, rows, strict=True)
            ]

    def best_of_subject(
        self, service: Service, queries: np.ndarray, *, subject_id: int
    ) -> list[Match] | None:
        """See `Search.best_of_subject`."""
        with STAGE_SECONDS.labels("search").time():
            queries, view = self._snapshot(service, queries)
            mine = np.flatnonzero(view.subjects == subject_id)
            if len(mine) == 0:
                return None
            scores = rounded_scores(view.vectors[mine], queries)
            rows = [mine[_candidates(column, 1, None)] for column in scores.T]
            exact = self._exact(view, np.unique(np.concatenate(rows)))
            best = [
                rank(self.scale, query, [exact[row] for row in candidates if row in exact], 1)
                for query, candidates in zip(queries, rows, strict=True)
            ]
            # A candidate deleted since the view was taken is gone from `exact`.
            return [matches[0] for matches in best] if all(best) else None

    def _snapshot(self, service: Service, queries: np.ndarray) -> tuple[np.ndarray, _View]:
        """The queries normalised, and the service's rows they can be compared with."""
        queries = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        view = self._current(service).view()
        if len(view.ids) and queries.shape[1] != view.vectors.shape[1]:
            raise WrongEmbeddingSize(queries.shape[1], view.vectors.shape[1])
        return queries, view

    def _exact(self, view: _View, rows: Rows) -> dict[int, Candidate]:
        """Row -> the candidate with its exact stored embedding, for the rows whose example
        still exists."""
        ids = [view.ids[row].decode() for row in rows]
        with self._sessions() as s:
            found = reads.vectors(s, calculator=self.calculator, example_ids=ids)
        return {
            int(row): Candidate(
                example_id,
                int(view.subjects[row]),
                view.names[int(view.subjects[row])],
                found[example_id],
            )
            for row, example_id in zip(rows, ids, strict=True)
            if example_id in found
        }

    def _current(self, service: Service) -> _Collection:
        """The service's collection, brought up to its version in the database."""
        with self._sessions() as s:
            version = reads.service_version(s, service_id=service.id)
        cached = self._cached(service)
        if version is not None and cached is not None and cached.version >= version:
            return cached
        with self._lock:
            updating = self._updating.setdefault(service.id, threading.Lock())
        with updating:
            return self._update(service)

    def _cached(self, service: Service) -> _Collection | None:
        """The loaded collection of this very service (not a recreated id)."""
        with self._lock:
            cached = self._collections.get(service.id)
        return cached if cached is not None and cached.guid == service.guid else None

    def _update(self, service: Service) -> _Collection:
        """Follow the record of writes, or load the service whole, in one snapshot: the version
        and the rows read together, in one pass (decisions.md D28)."""
        with snapshot(self._sessions) as s:
            version = reads.service_version(s, service_id=service.id)
            cached = self._cached(service)
            if version is None:  # deleted, by this process or another
                with self._lock:
                    self._collections.pop(service.id, None)
                return _Collection.empty(service.guid, 0, {})
            if cached is not None and cached.version >= version:
                return cached  # brought up to date by another thread meanwhile
            if cached is not None:
                writes = changes.since(
                    s, service_id=service.id, held=cached.version, current=version
                )
                if writes is not None:
                    cached.follow(writes, self._embedded(s, writes), calculator=self.calculator)
                    INDEX_UPDATES.labels("changes").inc()
                    self._warn_if_retired(service, writes)
                    return cached
            names = reads.subject_names(s, service_id=service.id)
            rows = reads.collection_rows(s, service_id=service.id, calculator=self.calculator)
            loaded = _Collection.load(service.guid, version, rows, names)
        INDEX_UPDATES.labels("load").inc()
        with self._lock:
            self._collections[service.id] = loaded
        return loaded

    def _warn_if_retired(self, service: Service, writes: list[changes.Change]) -> None:
        """A retired model's server finds no one from now on: never silently."""
        for change in writes:
            if change.kind == changes.Kind.UNEMBEDDED and change.detail["calculator"] == (
                self.calculator
            ):
                log.warning(
                    "the embeddings of this server's model (%s) were deleted from service %s "
                    "(`facegate models retire`): it finds no one there until it is restarted "
                    "on the current model",
                    self.calculator,
                    service.name,
                )

    def _embedded(
        self, s: Session, writes: list[changes.Change]
    ) -> dict[str, tuple[bytes, int, str]]:
        """The rows of the examples these writes embedded with this process's model, or
        restored to search."""
        added = [
            example
            for change in writes
            if change.kind == changes.Kind.RESTORED
            or (
                change.kind == changes.Kind.EMBEDDED
                and change.detail["calculator"] == self.calculator
            )
            for example in change.detail["examples"]
        ]
        if not added:
            return {}
        return reads.embedded_rows(s, calculator=self.calculator, example_ids=added)


def _candidates(
    scores: npt.NDArray[np.float32], count: int, subjects: npt.NDArray[np.int64] | None
) -> Rows:
    """Rows that may be among the `count` best by exact score, given rounded `scores`: every
    row within MARGIN of the count-th best rounded score (of the subjects' best, with
    `subjects`), since no row further below can overtake it."""
    if subjects is not None:
        _, inverse = np.unique(subjects, return_inverse=True)
        best = np.full(inverse.max() + 1, -np.inf, dtype=np.float32)
        np.maximum.at(best, inverse, scores)
        scores_to_beat = best
    else:
        scores_to_beat = scores
    if count >= len(scores_to_beat):
        bar = scores_to_beat.min()
    else:
        bar = np.partition(scores_to_beat, len(scores_to_beat) - count)[-count]
    rows: Rows = np.flatnonzero(scores >= bar - MARGIN)
    return rows
