"""The `mask` plugin on shared/faces: accuracy without masks and with masks drawn over nose and
mouth (tests/support/masks.py), and the mask stage's ms per face. Prints a table.

Usage: python benchmarks/mask.py [--model dlib|insightface-s]
"""

from __future__ import annotations

import argparse
import statistics
import sys

from facegate.config import Settings
from facegate.engine.face_engine import FaceEngine
from run import FACES, REPO, load_photos  # benchmarks/run.py

sys.path.insert(0, str(REPO))  # tests.support.masks: the drawn masks the tests use
from tests.support.masks import COLOURS, measure


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dlib")
    args = parser.parse_args()
    settings = Settings(model=args.model)
    engine = FaceEngine.from_settings(settings)
    counts = measure(engine, [data for _, data, _ in load_photos(FACES)])
    print(f"model set {args.model}, {settings.threads} threads")
    print("| faces | found | right | expected |")
    print("|---|---|---|---|")
    for variant in ("none", *COLOURS):
        expected = "without_mask" if variant == "none" else "with_mask"
        label = "as photographed" if variant == "none" else f"{variant} mask drawn"
        print(f"| {label} | {counts.found[variant]} | {counts.right[variant]} | {expected} |")
    ms = counts.per_face_ms
    print(f"mask stage per face: median {statistics.median(ms):.1f} ms, max {max(ms):.1f} ms")


if __name__ == "__main__":
    main()
