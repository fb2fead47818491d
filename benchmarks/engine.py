"""Per-photo engine timings on shared/faces, beside the face_recognition library. Prints a table.

For each photo: facegate's decode, detect, align + embed and total ms (FaceEngine.analyze with
embeddings, the default), the total of a detection-only call (no embedding: big JPEGs decode at
reduced scale), and face_recognition's HOG detector + dlib embeddings on the same bytes, with the
ratio of the two totals. Each figure is the median of --repeat runs after one warm-up.
Usage: python benchmarks/engine.py [--repeat 5] [--embedder onnx|dlib] [--threads N]
"""

from __future__ import annotations

import argparse
import io
import statistics
from collections.abc import Callable
from functools import partial
from typing import Any

from PIL import Image

from facegate.config import Settings
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import FaceRequest
from run import (  # benchmarks/run.py: the same comparison
    FACES,
    face_recognition_faces,
    load_photos,
    timed_ms,
)

# A detection-only call: no embedding, so big JPEGs decode at reduced scale.
DETECT_ONLY = FaceRequest(plugins=frozenset())


def _median_ms(run: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = run()  # warm-up (and the result to report)
    return statistics.median(timed_ms(run) for _ in range(repeat)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--embedder", choices=["onnx", "dlib"], default="onnx")
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    options: dict[str, Any] = {"embedder": args.embedder}
    if args.threads:
        options["threads"] = args.threads
    settings = Settings(**options)
    engine = FaceEngine.from_settings(settings)

    print(f"embedder {args.embedder}, {settings.threads} threads, median of {args.repeat} (ms)")
    header = (
        "| photo | size | faces | decode | detect | align+embed | total | detect-only total "
        "| face_recognition (faces) | ratio |"
    )
    print(header)
    print("|" + "---|" * 10)
    totals: list[tuple[float, float]] = []
    for photo, data, _ in load_photos(FACES):
        stages: list[dict[str, float]] = []

        def analyze(data: bytes = data, stages: list[dict[str, float]] = stages) -> int:
            analysis = engine.analyze(data)
            stages.append(analysis.timings)
            return len(analysis.faces)

        total, faces = _median_ms(analyze, args.repeat)
        quick, _ = _median_ms(lambda data=data: engine.analyze(data, DETECT_ONLY), args.repeat)
        theirs, their_faces = _median_ms(partial(face_recognition_faces, data), args.repeat)

        def stage(name: str, stages: list[dict[str, float]] = stages) -> float:
            return statistics.median(t.get(name, 0.0) for t in stages[1:])

        width, height = Image.open(io.BytesIO(data)).size
        totals.append((total, theirs))
        print(
            f"| {photo} | {width}x{height} | {faces} | {stage('decode'):.1f} "
            f"| {stage('detect'):.1f} | {stage('align') + stage('embed'):.1f} | {total:.1f} "
            f"| {quick:.1f} | {theirs:.1f} ({their_faces}) | {theirs / total:.1f}x |"
        )
    ours, theirs = (sum(column) for column in zip(*totals, strict=True))
    print(f"| **all photos** | | | | | | {ours:.0f} | | {theirs:.0f} | {theirs / ours:.1f}x |")


if __name__ == "__main__":
    main()
