"""Recognition search over N stored embeddings in one service, printed as a markdown table.

For each N (synthetic 128-d L2-normalised embeddings, 5 examples per subject, written straight
into a fresh SQLite database or a PostgreSQL URL): the time of the first search (which loads the
service into memory), the latency of a top-1 search through `IndexRegistry.search` (version check
query + one matrix product + exact similarities of the best row), the matrix product alone, and
the memory the loaded service takes.

Usage: python benchmarks/search.py [--sizes 1000,10000,100000,1000000] [--queries 200]
                                   [--database-url postgresql://...]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
from sqlalchemy import insert, update

from facegate import face_services
from facegate.collection.index import IndexRegistry
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory, upgrade
from facegate.db.tables import Example, Service, Subject, new_uuid, utcnow
from facegate.engine.model_sets import DLIB_SCALE
from facegate.engine.similarity import normalize

DIM = 128
EXAMPLES_PER_SUBJECT = 5
CHUNK = 20_000
CALCULATOR = "dlib-resnet-v1"


def rss_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def fill(
    settings: Settings, n: int, rng: np.random.Generator
) -> tuple[Service, np.ndarray, list[str]]:
    """A service holding n random embeddings; returns it, the first 1,000 vectors and ids."""
    engine = create_db_engine(settings)
    upgrade(engine)
    sessions = session_factory(engine)
    with sessions.begin() as s:
        app = face_services.default_application(s)
        service = face_services.create_service(s, app=app, name=f"bench-{n}", type="recognition")
        subjects = [
            {"service_id": service.id, "name": f"person {i}", "name_key": f"person {i}"}
            for i in range((n + EXAMPLES_PER_SUBJECT - 1) // EXAMPLES_PER_SUBJECT)
        ]
        subject_ids = list(s.scalars(insert(Subject).returning(Subject.id), subjects))
    sample = np.zeros((0, DIM), dtype=np.float32)
    sample_ids: list[str] = []
    for start in range(0, n, CHUNK):
        count = min(CHUNK, n - start)
        vectors = normalize(rng.normal(size=(count, DIM)).astype(np.float32))
        created = utcnow()
        rows = [
            {
                "id": new_uuid(),
                "subject_id": subject_ids[(start + i) // EXAMPLES_PER_SUBJECT],
                "embedding": vectors[i].tobytes(),
                "calculator": CALCULATOR,
                "created_at": created,
            }
            for i in range(count)
        ]
        if start == 0:
            sample, sample_ids = vectors[:1000].copy(), [row["id"] for row in rows[:1000]]
        with sessions.begin() as s:
            s.execute(insert(Example), rows)
    with sessions.begin() as s:
        s.execute(update(Service).where(Service.id == service.id).values(version=1))
        service = s.get_one(Service, service.id)
    engine.dispose()
    return service, sample, sample_ids


def measure(settings: Settings, n: int, queries: int) -> dict[str, float]:
    rng = np.random.default_rng(n)
    service, sample, sample_ids = fill(settings, n, rng)
    engine = create_db_engine(settings)
    registry = IndexRegistry(session_factory(engine), calculator=CALCULATOR, scale=DLIB_SCALE)
    # Queries: a stored face seen again (small noise), so the right answer is known.
    picks = rng.integers(0, len(sample), size=queries)
    probes = normalize(sample[picks] + 0.02 * rng.normal(size=(queries, DIM)).astype(np.float32))

    before = rss_bytes()
    start = time.perf_counter()
    registry.search(service, probes[0])
    first = time.perf_counter() - start
    loaded = rss_bytes() - before

    latencies, products, correct = [], [], 0
    vectors, ids, subjects, _ = registry._collections[service.id].snapshot()
    for probe, pick in zip(probes, picks, strict=True):
        start = time.perf_counter()
        [[best]] = registry.search(service, probe, k=1)
        latencies.append(time.perf_counter() - start)
        start = time.perf_counter()
        int(np.argmax(vectors @ probe))
        products.append(time.perf_counter() - start)
        correct += best.example_id == sample_ids[pick]
    assert correct == queries, f"top-1 found the probed example {correct}/{queries} times"
    array_bytes = vectors.nbytes + ids.nbytes + subjects.nbytes
    registry.close()
    engine.dispose()
    ordered = sorted(latencies)
    return {
        "n": n,
        "first_s": first,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": ordered[int(0.95 * (len(ordered) - 1))] * 1000,
        "product_ms": statistics.median(products) * 1000,
        "arrays_mb": array_bytes / 2**20,
        "rss_mb": loaded / 2**20,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="Default: a temporary SQLite file.")
    args = parser.parse_args()
    machine = platform.processor() or platform.machine()
    print(f"{machine}, {os.cpu_count()} CPUs, numpy {np.__version__}")
    print()
    print(
        "| stored embeddings | first search (load) | top-1 p50 | top-1 p95 | matrix product p50 "
        "| arrays | RSS after load |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in (int(size) for size in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            settings = Settings(data_dir=Path(tmp), database_url=args.database_url)
            row = measure(settings, n, args.queries)
        print(
            f"| {row['n']:,} | {row['first_s']:.2f} s | {row['p50_ms']:.2f} ms "
            f"| {row['p95_ms']:.2f} ms | {row['product_ms']:.2f} ms | {row['arrays_mb']:.1f} MB "
            f"| {row['rss_mb']:.0f} MB |",
            flush=True,
        )


if __name__ == "__main__":
    main()
