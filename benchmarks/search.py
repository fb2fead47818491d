"""Recognition search on both backends, printed as a markdown table (docs/performance.md).

For each backend (memory, pgvector), embedding length and gallery size: a gallery of random
L2-normalised embeddings (5 examples per subject) written through `store.add_examples` (the
gallery import's bulk path: its speed is a column), in one service or spread over 100; then two
"nodes" (two search objects on their own database engines, as two servers would hold):

- index build: the part of the import that built pgvector's index once the rows were in (a
  large load does, decisions.md D70), from the log line of `pgvector.index_after_load`;
- disk: the `embeddings` table with its indexes (pgvector: and the HNSW index alone);
- load: node B's first search (the memory backend reads the service whole; pgvector none);
- top-1 p50 / p99: 200 queries, each a stored embedding plus noise, through `Search.search`;
- recall@1: how often the best match is exact search's (the memory backend's, exact by
  construction, decisions.md D30);
- memory: the growth of this process's RSS while node B loaded (per server process);
- write -> visible: a write through node A, then node B's next search: how long until B finds
  the new example (it always does at once: the time is that search's), and how much more that
  first search costs than a normal one.

Usage: python benchmarks/search.py [--sizes 100000] [--dims 128,512] [--services 1,100]
           [--backends memory,pgvector] [--database-url postgresql://...] [--pgvector-url ...]
           [--queries 200]
Without --database-url the memory backend runs on SQLite in a temporary folder; pgvector needs
--pgvector-url (a PostgreSQL with the extension; the tests' carrier: tests/support/pgvector.py).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from facegate import face_services
from facegate.collection import pgvector, store
from facegate.collection.search import Search, open_search
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory, upgrade
from facegate.db.tables import Service
from facegate.engine.similarity import Scale, normalize

EXAMPLES_PER_SUBJECT = 5
SCALE = Scale(c0=1.1, c1=5.0)


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def fill(
    sessions: sessionmaker[Session], n: int, dim: int, services: int, rng: np.random.Generator
) -> tuple[list[Service], np.ndarray, float]:
    """n random embeddings spread over `services` services; returns the services, the vectors
    of the first service, and examples written per second."""
    calculator = f"synthetic-{dim}"
    with sessions.begin() as s:
        app = face_services.default_application(s)
        made = [
            face_services.create_service(s, app=app, name=f"bench-{i}", type="recognition")
            for i in range(services)
        ]
    first = np.zeros((0, dim), dtype=np.float32)
    started = time.perf_counter()
    per_service = n // services
    for service in made:
        vectors = normalize(rng.normal(size=(per_service, dim)))
        if service is made[0]:
            first = vectors
        with sessions.begin() as s:
            store.add_examples(
                s,
                service=service,
                examples=[
                    store.NewExample(f"person {i // EXAMPLES_PER_SUBJECT}", vector, calculator)
                    for i, vector in enumerate(vectors)
                ],
            )
    return made, first, n / (time.perf_counter() - started)


class Builds(logging.Handler):
    """The seconds of each index build that `pgvector` logs."""

    def __init__(self) -> None:
        super().__init__()
        self.seconds: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seconds.append(getattr(record, "build_seconds", 0.0))


def disk(settings: Settings, sessions: sessionmaker[Session], dim: int) -> str:
    """The embeddings' size on disk: the table with its indexes (pgvector: and the HNSW index)."""
    url = settings.resolved_database_url
    if not url.startswith("postgresql"):
        return f"{Path(url.removeprefix('sqlite:///')).stat().st_size / 2**20:,.0f} MB (file)"
    with sessions() as s:
        table = s.scalar(text("SELECT pg_total_relation_size('embeddings')")) or 0
        index = s.scalar(
            text("SELECT pg_relation_size(to_regclass(:name))"),
            {"name": pgvector.index_name(f"synthetic-{dim}")},
        )
    hnsw = "" if index is None else f" ({index / 2**20:,.0f} MB HNSW)"
    return f"{table / 2**20:,.0f} MB{hnsw}"


def timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def node(settings: Settings, backend: str, dim: int) -> Search:
    sessions = session_factory(create_db_engine(settings))
    return open_search(
        backend,  # type: ignore[arg-type]
        sessions,
        calculator=f"synthetic-{dim}",
        dimensions=dim,
        scale=SCALE,
    )


def measure(
    settings: Settings, backend: str, n: int, dim: int, services: int, queries_count: int
) -> list[str]:
    rng = np.random.default_rng(n + dim + services)
    upgrade(settings)
    sessions = session_factory(create_db_engine(settings))
    a = node(settings, backend, dim)  # pgvector: the import below keeps the index up to date
    builds = Builds()
    logging.getLogger(pgvector.__name__).addHandler(builds)
    logging.getLogger(pgvector.__name__).setLevel(logging.INFO)
    try:
        made, vectors, write_rate = fill(sessions, n, dim, services, rng)
    finally:
        logging.getLogger(pgvector.__name__).removeHandler(builds)
    if settings.resolved_database_url.startswith("postgresql"):
        with sessions() as s:  # what autovacuum does within a minute of a bulk import
            s.execute(text("ANALYZE"))
            s.commit()
    service = made[0]
    b = node(settings, backend, dim)
    exact = node(settings.model_copy(update={"search_backend": "memory"}), "memory", dim)
    picks = rng.choice(len(vectors), size=min(queries_count, len(vectors)), replace=False)
    queries = vectors[picks] + 0.02 * rng.normal(size=(len(picks), dim)).astype(np.float32)
    before = rss_bytes()
    load = timed(lambda: b.search(service, queries[0]))
    memory = rss_bytes() - before
    latencies, found = [], []
    for query in queries:
        started = time.perf_counter()
        [matches] = b.search(service, query)
        latencies.append(time.perf_counter() - started)
        found.append(matches[0].example_id)
    truth = [matches[0].example_id for matches in exact.search(service, queries)]
    recall = sum(f == t for f, t in zip(found, truth, strict=True)) / len(picks)
    normal = statistics.median(latencies)
    firsts = []
    for i in range(5):  # a write through A, then B's first search
        a.search(service, queries[i])
        new = normalize(rng.normal(size=dim))
        with sessions.begin() as s:
            store.add_example(
                s,
                service=s.get(Service, service.id),
                subject=f"new {i}",
                embedding=new,
                calculator=f"synthetic-{dim}",
                image=None,
            )
        started = time.perf_counter()
        [matches] = b.search(service, new)
        firsts.append(time.perf_counter() - started)
        assert matches[0].subject == f"new {i}", "node B did not see node A's write"
    latencies.sort()
    return [
        backend,
        str(dim),
        f"{n:,}",
        str(services),
        f"{write_rate:,.0f}",
        f"{sum(builds.seconds):.1f} s" if builds.seconds else "-",
        disk(settings, sessions, dim),
        f"{load:.2f} s",
        f"{normal * 1000:.2f} ms",
        f"{latencies[int(0.99 * len(latencies))] * 1000:.2f} ms",
        f"{recall * 100:.1f} %",
        f"{memory / 2**20:.0f} MB",
        f"{statistics.median(firsts) * 1000:.2f} ms",
        f"{(statistics.median(firsts) - normal) * 1000:+.2f} ms",
    ]


def fresh_schema(url: str, backend: str) -> str:
    """A new, empty schema on that PostgreSQL, as a URL working in it (pgvector's types are in
    `public`)."""
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
        if backend == "pgvector":
            connection.execute("CREATE EXTENSION IF NOT EXISTS vector SCHEMA public")
    path = f"{schema}%2Cpublic" if backend == "pgvector" else schema
    return f"{url}?options=-csearch_path%3D{path}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000")
    parser.add_argument("--dims", default="128,512")
    parser.add_argument("--services", default="1,100")
    parser.add_argument("--backends", default="memory,pgvector")
    parser.add_argument("--database-url", help="memory backend's database (default SQLite)")
    parser.add_argument("--pgvector-url", help="a PostgreSQL with pgvector")
    parser.add_argument("--queries", type=int, default=200, help="searches timed, and recalled")
    args = parser.parse_args()
    header = (
        "| backend | dim | examples | services | import examples/s | of which index build "
        "| disk | load (node B) | top-1 p50 "
        "| top-1 p99 | recall@1 | RSS of the load | write -> visible on B | extra on B's "
        "first search |"
    )
    print(header)
    print("|" + "---|" * header.count(" | ") + "---|")
    for backend in args.backends.split(","):
        for dim in map(int, args.dims.split(",")):
            for n in map(int, args.sizes.split(",")):
                for services in map(int, args.services.split(",")):
                    with tempfile.TemporaryDirectory() as folder:
                        url = args.pgvector_url if backend == "pgvector" else args.database_url
                        if backend == "pgvector" and not url:
                            sys.exit("pgvector needs --pgvector-url")
                        settings = Settings.model_validate(
                            {
                                "data_dir": folder,
                                "database_url": fresh_schema(url, backend)
                                if url
                                else f"sqlite:///{folder}/bench.db",
                                "search_backend": backend,
                            }
                        )
                        row = measure(settings, backend, n, dim, services, args.queries)
                        print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
