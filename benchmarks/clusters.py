"""How well unknown faces cluster: every photo of shared/lfw-dev recognised with nobody
enrolled, each face kept and clustered as the server does, scored against the labels.

Prints, per model set, markdown tables (docs/unknown-faces.md):
1. the server's clustering (`collection.unknown.keep` on a real SQLite database, one photo after
   another, every face of each photo kept; the labelled face is the one nearest the centre):
   clusters, adjusted Rand index (ARI), pairwise purity and completeness, and the same on the
   photos of the 52 people with two or more;
2. the sweep of join and merge thresholds (`collection.clusters.cluster` on the same
   embeddings) the thresholds were chosen from, and, for comparison, clustering by nearest
   member (single linkage) instead of centroid.

Usage: python benchmarks/clusters.py [--model dlib] [--model insightface-s] [--sweep]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import select

from facegate import face_services
from facegate.collection import clusters, unknown
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory, upgrade
from facegate.db.tables import UnknownFace
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import Face, FaceRequest
from facegate.engine.similarity import ClusterThresholds, Scale, normalize

LFW = Path(__file__).resolve().parents[2] / "shared" / "lfw-dev"
JOINS = (0.5, 0.7, 0.9, 0.95, 0.98, 0.99)
MERGES = (0.7, 0.9, 0.95, 0.99, 1.01)  # 1.01: never merge
# What recognition asks of the engine for a service that keeps unknown faces.
KEEPING = FaceRequest(pictures=True)


def centre_face(faces: list[Face], width: int, height: int) -> int:
    """The labelled face of an LFW photo: the one nearest the centre (lfw-dev's README)."""
    return min(
        range(len(faces)),
        key=lambda i: (
            ((faces[i].box.x_min + faces[i].box.x_max - width) / 2) ** 2
            + ((faces[i].box.y_min + faces[i].box.y_max - height) / 2) ** 2
        ),
    )


def nearest_member(vectors: np.ndarray, scale: Scale, join: float) -> list[int]:
    """The alternative to centroids, for comparison: single linkage, as DBSCAN with one face
    enough (Immich's maxDistance with minFaces 1). A face joins every cluster holding a face
    at least `join` similar to it, which merges them."""
    rows = normalize(vectors)
    labels = list(range(len(rows)))
    for i in range(1, len(rows)):
        close = np.flatnonzero(scale.similarities(rows[i], rows[:i]) >= join)
        for old in {labels[j] for j in close}:
            labels = [labels[i] if label == old else label for label in labels]
    return labels


def scores(truth: list[str], found: list[int]) -> str:
    purity, completeness = clusters.pair_precision_recall(truth, found)
    ari = clusters.adjusted_rand_index(truth, found)
    return f"{len(set(found))} | {ari:.3f} | {purity:.3f} | {completeness:.3f}"


def run(model: str, sweep: bool) -> None:
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder), model=model)
        engine = FaceEngine.from_settings(settings)
        database = create_db_engine(settings)
        upgrade(database)
        sessions = session_factory(database)
        with sessions.begin() as s:
            app = face_services.default_application(s)
            service = face_services.create_service(s, app=app, name="lfw", type="recognition")
        rows = list(csv.DictReader((LFW / "labels.csv").open()))
        labelled: dict[str, str] = {}  # kept face id -> identity
        vectors, identities = [], []
        keeping: list[float] = []  # seconds of each photo's keeping transaction
        started = time.perf_counter()
        for row in rows:
            image = (LFW / row["file"]).read_bytes()
            analysis = engine.analyze(image, KEEPING)
            if not analysis.faces:
                continue
            kept_at = time.perf_counter()
            with sessions.begin() as s:
                ids = unknown.keep(
                    s,
                    service=service,
                    strangers=[
                        unknown.Stranger(face.embedding, face.picture)
                        for face in analysis.faces
                        if face.embedding is not None and face.picture is not None
                    ],
                    calculator=engine.calculator_id,
                    scale=engine.scale,
                    thresholds=engine.cluster_thresholds,
                    limits=unknown.Limits(10_000, timedelta(days=1)),
                    source=None,
                )
            keeping.append(time.perf_counter() - kept_at)
            centre = centre_face(analysis.faces, analysis.width, analysis.height)
            labelled[ids[centre]] = row["identity"]
            vectors.append(analysis.faces[centre].embedding)
            identities.append(row["identity"])
        seconds = time.perf_counter() - started
        with sessions() as s:
            query = select(UnknownFace.id, UnknownFace.cluster_id)
            cluster_of = {face_id: cluster_id for face_id, cluster_id in s.execute(query)}
        database.dispose()
    truth = list(labelled.values())
    found = [cluster_of[face_id] for face_id in labelled]
    counts: dict[str, int] = {}
    for identity in truth:
        counts[identity] = counts.get(identity, 0) + 1
    repeated = [i for i, identity in enumerate(truth) if counts[identity] > 1]
    thresholds = engine.cluster_thresholds
    print(f"\n### {model}: join {thresholds.join}, merge {thresholds.merge}\n")
    print(
        f"{len(rows)} photos, {len(truth)} with a face, {len(counts)} people "
        f"({sum(1 for n in counts.values() if n > 1)} with 2 or more photos); "
        f"{len(cluster_of)} faces kept in {len(set(cluster_of.values()))} clusters, "
        f"{seconds:.1f} s (recognition and keeping, one photo after another); keeping a "
        f"photo's faces: median {statistics.median(keeping) * 1000:.1f} ms, "
        f"p95 {np.percentile(keeping, 95) * 1000:.1f} ms, last 50 photos "
        f"{statistics.median(keeping[-50:]) * 1000:.1f} ms\n"
    )
    print("| photos | clusters | ARI | purity (pairs) | completeness (pairs) |")
    print("|---|---|---|---|---|")
    print(f"| all {len(truth)} | {scores(truth, found)} |")
    print(
        f"| {len(repeated)} of people with 2+ | "
        f"{scores([truth[i] for i in repeated], [found[i] for i in repeated])} |"
    )
    if sweep:
        print("\n| join | merge | clusters | ARI | purity | completeness |")
        print("|---|---|---|---|---|---|")
        matrix = np.array(vectors, dtype=np.float32)
        for join in JOINS:
            for merge in MERGES:
                labels = clusters.cluster(matrix, engine.scale, ClusterThresholds(join, merge))
                print(f"| {join} | {merge} | {scores(identities, labels.tolist())} |")
        print("\n| nearest member: join | clusters | ARI | purity | completeness |")
        print("|---|---|---|---|---|")
        for join in JOINS:
            labels = nearest_member(matrix, engine.scale, join)
            print(f"| {join} | {scores(identities, labels)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", help="model set (repeatable; default dlib)")
    parser.add_argument("--sweep", action="store_true", help="also print the threshold sweep")
    args = parser.parse_args()
    for model in args.model or ["dlib"]:
        run(model, args.sweep)


if __name__ == "__main__":
    main()
