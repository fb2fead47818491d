"""Detection size: recall and time of each detector at each `max_detect_size`. Prints a table.

For both detectors (RetinaFace of the `dlib` set, SCRFD of `insightface-s`) and each size
(640, 480, 320 by default), and at 640 with the finer look of `fine_detect_size` (1280 by
default; "640+1280"): faces found on shared/faces against manifest.json's counts (and photos
whose count matches), photos of shared/lfw-dev with at least one face (each shows one person),
small faces (each lfw-dev photo at a quarter of its size, its face about 28 px wide, in the
middle of a 1280 x 960 grey frame) found, and the mean detection ms per photo of each set
(decoding excluded). The row "SCRFD letterboxed" is the behaviour before issue 22: every photo
scaled to the size, small ones up. Configurations run interleaved, photo by photo, so the
machine's load hits them alike.
Usage: python benchmarks/det_size.py [--sizes 640,480,320] [--fine 1280] [--rounds 1]
       [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import csv
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from facegate.config import Settings
from facegate.engine import images, model_sets
from facegate.engine.insightface.scrfd import ScrfdDetector
from facegate.engine.options import EngineOptions
from facegate.engine.retinaface import RetinaFaceDetector
from facegate.engine.types import Detections, Pixels
from run import FACES, REPO, load_photos  # benchmarks/run.py

sys.path.insert(0, str(REPO))  # tests.support.degraded: the small faces the tests use
from tests.support.degraded import small_in_frame

LFW = FACES.parent / "lfw-dev"
DEFAULT = Settings().max_detect_size
Detect = Callable[[Pixels], Detections]


def letterboxed(detector: ScrfdDetector, size: int, threshold: float) -> Detect:
    """The letterbox before issue 22: the longer side scaled to `size`, up as well as down."""

    def detect(pixels: Pixels) -> Detections:
        factor = size / max(pixels.shape[:2])
        if factor <= 1:
            return detector.detect(pixels, threshold=threshold)
        wide = (round(pixels.shape[1] * factor), round(pixels.shape[0] * factor))
        big = np.asarray(Image.fromarray(pixels).resize(wide, Image.Resampling.BILINEAR))
        return detector.detect(big, threshold=threshold).scaled(pixels.shape[1] / wide[0])

    return detect


def configurations(data_dir: Path, sizes: list[int], fine: int) -> dict[str, Detect]:
    found: dict[str, Detect] = {}
    for model in ("dlib", "insightface-s"):
        options = EngineOptions.from_settings(Settings(model=model, data_dir=data_dir))
        models = model_sets.load(options)
        detector = models.detector
        session = detector._session  # one session, several sizes
        threshold = models.det_prob_threshold
        for size in sizes:
            if isinstance(detector, ScrfdDetector):
                sized = ScrfdDetector(session, max_detect_size=size)
                found[f"SCRFD {size}"] = _at(sized, threshold)
                found[f"SCRFD letterboxed {size}"] = letterboxed(sized, size, threshold)
            else:
                retina = RetinaFaceDetector(session, max_detect_size=size)
                found[f"RetinaFace {size}"] = _at(retina, threshold)
        family = type(detector)(session, max_detect_size=DEFAULT, fine_detect_size=fine)
        name = "SCRFD" if isinstance(detector, ScrfdDetector) else "RetinaFace"
        found[f"{name} {DEFAULT}+{fine}"] = _at(family, threshold)
    return found


def _at(detector: ScrfdDetector | RetinaFaceDetector, threshold: float) -> Detect:
    return lambda pixels: detector.detect(pixels, threshold=threshold)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="640,480,320")
    parser.add_argument("--fine", type=int, default=1280)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=Settings().data_dir)
    args = parser.parse_args()
    configs = configurations(args.data_dir, [int(s) for s in args.sizes.split(",")], args.fine)
    limit = Settings().max_image_pixels
    faces = [
        (images.decode(data, max_image_pixels=limit).pixels, expected)
        for _, data, expected in load_photos(FACES)
    ]
    with (LFW / "labels.csv").open() as labels:
        lfw = [
            images.decode((LFW / row["file"]).read_bytes(), max_image_pixels=limit).pixels
            for row in csv.DictReader(labels)
        ]
    small = [np.asarray(small_in_frame(Image.fromarray(pixels))) for pixels in lfw]
    ms: dict[str, list[float]] = {name: [] for name in configs}
    counts: dict[str, list[int]] = {name: [] for name in configs}
    for _ in range(args.rounds):
        counts = {name: [] for name in configs}
        for pixels in [p for p, _ in faces] + lfw + small:
            for name, detect in configs.items():
                start = time.perf_counter()
                counts[name].append(len(detect(pixels)))
                ms[name].append((time.perf_counter() - start) * 1000)
    expected = [e for _, e in faces]
    n, m = len(faces), len(faces) + len(lfw)
    print(f"shared/faces: {n} photos, {sum(expected)} faces; lfw-dev: {len(lfw)} photos")
    print(
        "| detector | size | faces found / expected | photos with the expected count "
        "| lfw-dev photos with a face | small faces found | detect ms/photo faces | lfw-dev "
        "| small faces |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in configs:
        got = counts[name][:n]
        rounds_ms = np.array(ms[name]).reshape(args.rounds, -1)
        times = [
            statistics.median(float(r[part].mean()) for r in rounds_ms)
            for part in (slice(0, n), slice(n, m), slice(m, None))
        ]
        family, size = name.rsplit(" ", 1)
        print(
            f"| {family} | {size} | {sum(min(g, e) for g, e in zip(got, expected, strict=True))}"
            f" (+{sum(max(g - e, 0) for g, e in zip(got, expected, strict=True))} extra) / "
            f"{sum(expected)} | {sum(g == e for g, e in zip(got, expected, strict=True))} / {n} "
            f"| {sum(c >= 1 for c in counts[name][n:m])} / {len(lfw)} "
            f"| {sum(c >= 1 for c in counts[name][m:])} / {len(small)} | "
            + " | ".join(f"{t:.1f}" for t in times)
            + " |"
        )


if __name__ == "__main__":
    main()
