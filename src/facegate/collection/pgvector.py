"""The `pgvector` search backend: PostgreSQL searches, no process holds embeddings
(decisions.md D32, docs/scaling.md).

At start the backend prepares the database once for every server: the `vector` extension, a
generated column `embeddings.vec` that PostgreSQL computes from the stored float32 bytes (so
every writer fills it, whatever its own backend), and an HNSW index per model over that column
rounded to halfvec (16 bits), restricted to the model's rows. A search asks the index for a
few more candidates than it needs, of the service only, with iterative scans so that filtering
by service loses nothing; a scan that still comes back short (a small service in a large table)
is answered by an exact scan of the service's rows. Candidates are ranked on their exact
float32 embeddings (`search.rank`). A write is visible to every node at its next request: the
database is the index.

A bulk load (`index_after_load`, a gallery import) that adds many rows to a model's index drops
the index first and builds it again over every row at the end, in the same transaction, which
costs a fraction of inserting each row into the graph (decisions.md D70).
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, text
from sqlalchemy.orm import Session, sessionmaker

from facegate.collection import reads
from facegate.collection.search import Candidate, Match, rank
from facegate.db.session import exclusive
from facegate.db.tables import Service
from facegate.engine.similarity import Scale, normalize
from facegate.errors import SearchBackendUnavailable, WrongEmbeddingSize
from facegate.metrics import STAGE_SECONDS

# Candidates asked of the index beyond the k answers, re-ranked exactly: the index's order is
# approximate (HNSW, 16-bit values), its best few almost never miss the exact best.
EXTRA_CANDIDATES = 16
# The HNSW search breadth: at least this, and at least the candidates asked (pgvector's cap).
# At 64, 100,000 random 128-d embeddings gave recall@1 98.5 % (benchmarks/search.py).
EF_SEARCH = 200
MAX_EF_SEARCH = 1000
# ... and one more for every ROWS_PER_EF rows in the model's graph: a fixed breadth finds less
# as the graph grows. Recall@1 against exact search of random 128-d rows at 200 was 100 % at
# 100,000 and 300,000 rows, 94 to 96 % at 1,000,000, where 400 gave 99.3 % and 600 100 % (52 ms
# a search on 2 busy cores; docs/performance.md, decisions.md D84). Past 1.5 million rows of a
# model the cap holds the breadth at 1,000 and recall falls: see docs/scaling.md.
ROWS_PER_EF = 1_500
# The graph's size is read from the catalogue (the index's row estimate, kept by PostgreSQL's
# autovacuum) at most this often, not on every search.
ROWS_MAX_AGE_SECONDS = 60.0
# The HNSW graph's build breadth (pgvector's default is 64): at 300,000 random 128-d rows, 128
# lifted recall@1 at EF_SEARCH from 99.0 % to 100 % for a 1.4 times longer build (decisions.md
# D71).
EF_CONSTRUCTION = 128
# halfvec (16-bit vectors and their index operators) came with pgvector 0.7, iterative index
# scans (a filter that loses nothing) with 0.8.
HALFVEC_SINCE = (0, 7)
ITERATIVE_SINCE = (0, 8)
_CALCULATOR = re.compile(r"[A-Za-z0-9._:-]{1,64}")
# A load rebuilds a model's index rather than inserting into it when it adds at least
# REBUILD_AT rows and at least REBUILD_SHARE of the rows already there: measured on 2 cores
# (docs/performance.md), inserting a row into the graph costs about 4 ms and building the graph
# about 0.6 ms a row, so a rebuild is the cheaper one from about a fifth. Below REBUILD_AT
# rows the inserts take seconds, and the table is not locked for a rebuild.
REBUILD_AT = 5_000
REBUILD_SHARE = 0.25
# The memory an HNSW build needs per row beyond the indexed value (2 bytes a dimension as
# halfvec, 4 as vector): the graph's neighbours (2 x m = 32 at the lowest layer) and their
# distances, with room to spare; pgvector builds far slower once the graph outgrows
# maintenance_work_mem. A build asks for what the rows need, up to BUILD_MEMORY_CAP, never less
# than the server's own setting.
BUILD_BYTES_PER_ROW = 800
BUILD_MEMORY_CAP = 8 * 2**30
log = logging.getLogger(__name__)

# float32 little-endian bytes -> vector, in SQL: sign, exponent and mantissa of each value,
# exact in float8 (subnormals, under 1e-38, read as 0). IMMUTABLE, for a generated column.
_BYTES_TO_VECTOR = """
CREATE OR REPLACE FUNCTION facegate_vector(b bytea) RETURNS vector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
SELECT array_agg(
    CASE WHEN e = 0 THEN 0::float8
         ELSE (1 - 2 * s) * (1 + m::float8 / 8388608) * power(2::float8, e - 127) END
    ORDER BY i)::vector
FROM (SELECT i,
             get_byte(b, 4 * i + 3) >> 7 AS s,
             ((get_byte(b, 4 * i + 3) & 127) << 1) | (get_byte(b, 4 * i + 2) >> 7) AS e,
             ((get_byte(b, 4 * i + 2) & 127) << 16) | (get_byte(b, 4 * i + 1) << 8)
                 | get_byte(b, 4 * i) AS m
      FROM generate_series(0, length(b) / 4 - 1) AS i) AS parts
$$
"""


def _version(text_version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text_version)[:2])


def index_name(calculator: str) -> str:
    """The HNSW index of one model's rows (PostgreSQL names are at most 63 bytes)."""
    return f"ix_embeddings_hnsw_{hashlib.sha256(calculator.encode()).hexdigest()[:16]}"


def check(connection: Connection) -> None:
    """SearchBackendUnavailable, saying what to do, unless pgvector can run here."""
    if connection.dialect.name != "postgresql":
        raise SearchBackendUnavailable(
            "search_backend=pgvector needs PostgreSQL (FACEGATE_DATABASE_URL); this database is "
            f"{connection.dialect.name}: set FACEGATE_SEARCH_BACKEND=memory or move to PostgreSQL"
        )
    available = connection.scalar(
        text("SELECT default_version FROM pg_available_extensions WHERE name = 'vector'")
    )
    if available is None:
        raise SearchBackendUnavailable(
            "search_backend=pgvector: this PostgreSQL server has no pgvector extension; install "
            "it (e.g. `apt install postgresql-16-pgvector`; managed services ship it) or set "
            "FACEGATE_SEARCH_BACKEND=memory"
        )


def prepare(connection: Connection, *, calculator: str, dimensions: int) -> tuple[int, ...]:
    """Make the database searchable by this model; returns pgvector's version. Idempotent:
    every server runs it at start (under the migration lock, so one at a time)."""
    check(connection)
    if not _CALCULATOR.fullmatch(calculator):
        raise SearchBackendUnavailable(f"model id {calculator!r} cannot name an index")
    connection.execute(text("CREATE EXTENSION IF NOT EXISTS vector"))
    version = _version(
        connection.scalar(text("SELECT extversion FROM pg_extension WHERE extname = 'vector'"))
    )
    connection.execute(text(_BYTES_TO_VECTOR))
    # Rewrites the table once, computing every row: the first start on pgvector takes a while
    # on a large gallery (docs/scaling.md); later starts find the column.
    connection.execute(
        text(
            "ALTER TABLE embeddings ADD COLUMN IF NOT EXISTS vec vector "
            "GENERATED ALWAYS AS (facegate_vector(vector)) STORED"
        )
    )
    if connection.scalar(text("SELECT to_regclass(:name)"), {"name": index_name(calculator)}):
        return version
    kind = _indexed_type(version)
    _build(
        connection,
        calculator,
        f"CREATE INDEX {index_name(calculator)} ON embeddings USING hnsw "
        f"((vec::{kind}({dimensions})) {kind}_ip_ops) WITH (ef_construction = {EF_CONSTRUCTION}) "
        f"WHERE calculator = '{calculator}'",
    )
    return version


def _build(connection: Connection, calculator: str, definition: str) -> None:
    """Build a model's index over its rows, with the memory that keeps its graph in one piece
    (the setting lasts until the transaction ends)."""
    started = time.perf_counter()
    rows, dimensions = connection.execute(
        text(
            "SELECT count(*), max(octet_length(vector)) / 4 FROM embeddings "
            "WHERE calculator = :calculator"
        ),
        {"calculator": calculator},
    ).one()
    wanted = min(BUILD_MEMORY_CAP, rows * (2 * (dimensions or 0) + BUILD_BYTES_PER_ROW))
    current = connection.scalar(
        text("SELECT setting::bigint * 1024 FROM pg_settings WHERE name = 'maintenance_work_mem'")
    )
    if wanted > current:
        connection.execute(text(f"SET LOCAL maintenance_work_mem = '{wanted // 2**20 + 1}MB'"))
    connection.execute(text(definition))
    seconds = time.perf_counter() - started
    log.info(
        "built the search index of model %s over %d embeddings in %.1f s",
        calculator,
        rows,
        seconds,
        extra={"build_seconds": seconds},
    )


@contextmanager
def index_after_load(s: Session, loading: Mapping[str, int]) -> Iterator[None]:
    """A bulk load of `loading` (model id -> rows about to be added) into `s`'s transaction: each
    model's index that the load would mostly fill is dropped first and built again over every
    row once the load is done, in the same transaction, so that no search ever sees a partial
    or missing index (searches and writes of this database wait for the transaction instead).
    Nothing changes on SQLite, on a database without the model's index, or for a small load."""
    connection = s.connection()
    rebuilt = {}
    if connection.dialect.name == "postgresql":
        for calculator, adding in loading.items():
            name = index_name(calculator) if _CALCULATOR.fullmatch(calculator) else None
            if name is None or adding < REBUILD_AT:
                continue
            definition = connection.scalar(
                text("SELECT pg_get_indexdef(to_regclass(:name))"), {"name": name}
            )
            held = connection.scalar(
                text("SELECT count(*) FROM embeddings WHERE calculator = :calculator"),
                {"calculator": calculator},
            )
            if definition is not None and adding >= REBUILD_SHARE * held:
                connection.execute(text(f"DROP INDEX {name}"))
                rebuilt[calculator] = definition
    yield
    for calculator, definition in rebuilt.items():
        _build(connection, calculator, definition)


def _indexed_type(version: tuple[int, ...]) -> str:
    """What the index holds: halfvec where pgvector has it, else the vector itself."""
    return "halfvec" if version >= HALFVEC_SINCE else "vector"


class PgvectorSearch:
    """`search.Search` by PostgreSQL with pgvector; holds no embedding."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        *,
        calculator: str,
        dimensions: int,
        scale: Scale,
        version: tuple[int, ...],
    ) -> None:
        self._sessions = sessions
        self.calculator = calculator
        self.dimensions = dimensions
        self.scale = scale
        self._iterative = version >= ITERATIVE_SINCE
        self._graph_size, self._rows_read_at = 0, -ROWS_MAX_AGE_SECONDS
        kind = f"{_indexed_type(version)}({dimensions})"
        # The ORDER BY reads as the index's expression, so that PostgreSQL uses the index.
        self._approximate = f"(vec::{kind}) <#> CAST(:query AS {kind})"
        self._exactly = f"vec <#> CAST(:query AS vector({dimensions}))"

    @classmethod
    def open(
        cls, sessions: sessionmaker[Session], *, calculator: str, dimensions: int, scale: Scale
    ) -> PgvectorSearch:
        engine = sessions.kw["bind"]
        with exclusive(engine), engine.begin() as connection:
            version = prepare(connection, calculator=calculator, dimensions=dimensions)
        return cls(
            sessions, calculator=calculator, dimensions=dimensions, scale=scale, version=version
        )

    def search(
        self,
        service: Service,
        queries: np.ndarray,
        *,
        k: int = 1,
        per_subject: bool = False,
        min_similarity: float | None = None,
    ) -> list[list[Match]]:
        """See `Search.search`: one index scan per query, in one transaction."""
        with STAGE_SECONDS.labels("search").time(), self._sessions() as s:
            queries = self._queries(s, service, queries)
            if k == 0:
                return [[] for _ in queries]
            results = []
            for query in queries:
                candidates = self._candidates(s, service, query, k, per_subject)
                count = len(candidates) if k < 0 else k
                results.append(
                    rank(
                        self.scale,
                        query,
                        candidates,
                        count,
                        per_subject=per_subject,
                        min_similarity=min_similarity,
                    )
                )
            return results

    def best_of_subject(
        self, service: Service, queries: np.ndarray, *, subject_id: int
    ) -> list[Match] | None:
        """See `Search.best_of_subject`: a subject's examples are few, so exactly."""
        with STAGE_SECONDS.labels("search").time(), self._sessions() as s:
            queries = self._queries(s, service, queries)
            candidates = self._rows(
                s,
                "example_id IN (SELECT id FROM examples WHERE subject_id = :subject)",
                "1",
                {"subject": subject_id, "service": service.id},
            )
            if not candidates:
                return None
            return [rank(self.scale, query, candidates, 1)[0] for query in queries]

    def _queries(self, s: Session, service: Service, queries: np.ndarray) -> np.ndarray:
        """The queries normalised; of the model's length, unless the service has no example
        (the memory backend's answer too)."""
        queries = normalize(np.atleast_2d(np.asarray(queries, dtype=np.float32)))
        if queries.shape[1] != self.dimensions and self._rows(
            s, "true", "1", {"service": service.id}, limit=1
        ):
            raise WrongEmbeddingSize(queries.shape[1], self.dimensions)
        return queries

    def _candidates(
        self, s: Session, service: Service, query: np.ndarray, k: int, per_subject: bool
    ) -> list[Candidate]:
        """Enough of the service's nearest rows for the k best (each subject's, with
        `per_subject`): from the index while it finds as many as asked, else exactly."""
        where = {"service": service.id, "query": _literal(query)}
        if k < 0:
            return self._rows(s, "true", self._exactly, where)
        wanted = k + EXTRA_CANDIDATES
        while True:
            self._tune(s, wanted)
            rows = self._rows(s, "true", self._approximate, where, limit=wanted)
            if len(rows) < wanted:  # a small service, or a scan that gave up: exactly
                return self._rows(s, "true", self._exactly, where, limit=wanted)
            if not per_subject or len({row.subject_id for row in rows}) >= k:
                return rows
            wanted *= 4  # one subject's many examples crowd the others out: look further

    def _tune(self, s: Session, wanted: int) -> None:
        """The index scan's breadth for this transaction, and an iterative scan where pgvector
        has one, so rows of other services never take the places of this one's."""
        s.execute(text(f"SET LOCAL hnsw.ef_search = {breadth(wanted, self.graph_rows(s))}"))
        # Only the HNSW index gives rows in order without sorting them: the planner, blind to
        # 512-d vectors being stored out of line (TOAST), otherwise reads and sorts every row
        # of the service (69 ms against 2 at 20,000 rows). The exact scan that may follow in
        # this transaction has to sort, and still can.
        s.execute(text("SET LOCAL enable_sort = off"))
        if self._iterative:
            s.execute(text("SET LOCAL hnsw.iterative_scan = strict_order"))

    def graph_rows(self, s: Session) -> int:
        """About how many rows the model's HNSW graph holds (PostgreSQL's estimate)."""
        now = time.monotonic()
        if now - self._rows_read_at > ROWS_MAX_AGE_SECONDS:
            estimate = s.scalar(
                text("SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass(:name)"),
                {"name": index_name(self.calculator)},
            )
            self._graph_size, self._rows_read_at = max(0, estimate or 0), now
        return self._graph_size

    def _rows(
        self,
        s: Session,
        condition: str,
        order: str,
        values: dict[str, Any],
        *,
        limit: int | None = None,
    ) -> list[Candidate]:
        """This model's rows of the service that meet `condition` (over `embeddings`) and are
        not set aside (decisions.md D65), nearest first by `order`, with their subjects and
        exact embeddings. The model's id is written into the statement (checked by `prepare`),
        so that PostgreSQL's generic plans can use the model's partial index too."""
        statement = text(
            "WITH near AS MATERIALIZED ("
            " SELECT example_id, vector FROM embeddings"
            f" WHERE calculator = '{self.calculator}' AND service_id = :service"
            f" AND {condition} AND NOT EXISTS (SELECT 1 FROM examples aside"
            " WHERE aside.id = embeddings.example_id AND aside.set_aside_at IS NOT NULL)"
            f" ORDER BY {order}"
            f"{'' if limit is None else ' LIMIT :limit'})"
            " SELECT near.example_id, near.vector, subjects.id, subjects.name FROM near"
            " JOIN examples ON examples.id = near.example_id"
            " JOIN subjects ON subjects.id = examples.subject_id"
        )
        found = s.execute(statement, values if limit is None else {**values, "limit": limit})
        return [
            Candidate(example_id, subject_id, name, reads.as_vector(blob))
            for example_id, blob, subject_id, name in found
        ]


def breadth(wanted: int, graph_rows: int) -> int:
    """The HNSW search breadth (`hnsw.ef_search`) for `wanted` candidates from a graph of
    `graph_rows` rows."""
    return min(MAX_EF_SEARCH, max(EF_SEARCH, wanted, graph_rows // ROWS_PER_EF))


def _literal(query: npt.NDArray[np.float32]) -> str:
    """A vector as pgvector's text input ('[0.1,0.2,...]'), exact: repr of each float32."""
    return "[" + ",".join(repr(float(value)) for value in query) + "]"
