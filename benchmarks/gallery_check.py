"""How long the gallery check takes (decisions.md D65, docs/gallery-check.md): the check of
`collection.gallery_check.check` over synthetic galleries of people with several examples each,
at dlib's 128 and ArcFace's 512 dimensions, with 500 kept unknown faces; the database read
(`gallery_check.read`) on a real SQLite file for the largest.

Prints a markdown table. Usage: python benchmarks/gallery_check.py [--sizes 1000 5000 20000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from facegate import face_services
from facegate.collection import gallery_check, store
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory, upgrade
from facegate.engine.similarity import Scale, normalize

SCALES = {128: Scale(c0=0.4051, c1=19.413), 512: Scale(c0=1.1493, c1=7.59)}
PHOTOS = 4  # examples per subject
STRANGERS = 500


def synthetic(size: int, dimensions: int, seed: int = 0) -> gallery_check.Gallery:
    """`size` examples, PHOTOS a person, two photos of one person about 0.6 of the scale's c0
    apart (as lfw-dev's same-person pairs typically are)."""
    rng = np.random.default_rng(seed)
    people = size // PHOTOS
    spread = 0.6 * SCALES[dimensions].c0 / np.sqrt(2)
    centres = rng.normal(size=(people, dimensions))
    noise = spread * rng.normal(size=(people * PHOTOS, dimensions))
    rows = np.repeat(centres, PHOTOS, axis=0) + noise
    subjects = np.repeat(np.arange(people), PHOTOS).astype(np.int64)
    return gallery_check.Gallery(
        [f"e{i}" for i in range(len(rows))],
        subjects,
        {i: f"s{i}" for i in range(people)},
        normalize(rows),
        np.zeros(len(rows), dtype=bool),
    )


def timed(run: object, rounds: int) -> float:
    seconds = []
    for _ in range(rounds):
        started = time.perf_counter()
        run()  # type: ignore[operator]
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds)


def read_seconds(size: int) -> float:
    """`gallery_check.read` of `size` stored 128-d examples on a SQLite file."""
    with tempfile.TemporaryDirectory() as folder:
        settings = Settings(data_dir=Path(folder))
        engine = create_db_engine(settings)
        upgrade(engine)
        sessions = session_factory(engine)
        gallery = synthetic(size, 128)
        with sessions.begin() as s:
            app = face_services.default_application(s)
            service = face_services.create_service(s, app=app, name="bench", type="recognition")
            store.add_examples(
                s,
                service=service,
                examples=[
                    store.NewExample(f"s{subject}", vector, "bench")
                    for subject, vector in zip(gallery.subjects, gallery.vectors, strict=True)
                ],
            )
        with sessions() as s:
            started = time.perf_counter()
            gallery_check.read(s, service=service, calculator="bench")
            seconds = time.perf_counter() - started
        engine.dispose()
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print("| examples | dimensions | check (s) | database read, SQLite (s) |")
    print("|---:|---:|---:|---:|")
    for size in args.sizes:
        for dimensions, scale in SCALES.items():
            gallery = synthetic(size, dimensions)
            rng = np.random.default_rng(1)
            strangers = gallery_check.Strangers(
                [f"u{i}" for i in range(STRANGERS)],
                normalize(rng.normal(size=(STRANGERS, dimensions))),
            )
            seconds = timed(
                lambda g=gallery, st=strangers, sc=scale: gallery_check.check(
                    g, st, scale=sc, threshold=None
                ),
                args.rounds,
            )
            read = f"{read_seconds(size):.2f}" if dimensions == 128 else ""
            print(f"| {size:,} | {dimensions} | {seconds:.2f} | {read} |")


if __name__ == "__main__":
    main()
