"""Reduced-scale decoding: `FaceEngine.analyze` with embeddings on shared/faces, decoding in full
(before issue 22) against decoding big JPEGs at DCT scale (now). Prints a table.

Per photo the decode and total ms (median of --rounds, the two paths interleaved call by call),
and how the engine decoded it now: at full scale, at reduced scale, or reduced then in full
again for chips of faces under 100 px (docs/decisions.md D76).
Usage: python benchmarks/decode.py [--model dlib] [--rounds 5] [--data-dir DIR]
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from facegate.config import Settings
from facegate.engine import face_engine, images
from facegate.engine.face_engine import FaceEngine
from facegate.engine.options import EngineOptions
from run import FACES, load_photos  # benchmarks/run.py

FULL_DECODE = SimpleNamespace(
    decode=lambda data, *, max_image_pixels, max_side=None: images.decode(
        data, max_image_pixels=max_image_pixels
    )
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dlib")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=Settings().data_dir)
    args = parser.parse_args()
    engine = FaceEngine.create(
        EngineOptions.from_settings(Settings(model=args.model, data_dir=args.data_dir))
    )
    widths: list[int] = []

    def counting(data: bytes, **options: Any) -> images.DecodedImage:
        decoded = images.decode(data, **options)
        widths.append(int(decoded.pixels.shape[1]))
        return decoded

    now = SimpleNamespace(decode=counting)
    print(f"{args.model}, median of {args.rounds} rounds (ms)")
    print("| photo | size | decoded now | decode before | decode now | total before | total now |")
    print("|---|---|---|---|---|---|---|")
    sums = [0.0, 0.0, 0.0, 0.0]
    for name, data, _ in load_photos(FACES):
        times: dict[str, list[tuple[float, float]]] = {"before": [], "now": []}
        for _ in range(args.rounds + 1):
            for label, module in (("before", FULL_DECODE), ("now", now)):
                widths.clear()
                face_engine.images = module  # type: ignore[assignment]
                timings = engine.analyze(data).timings
                times[label].append((timings["decode"], timings["total"]))
        face_engine.images = images
        full = images.decode(data, max_image_pixels=Settings().max_image_pixels)
        how = "full" if widths == [full.width] else " then ".join(str(w) for w in widths)
        row = [
            statistics.median(t[i] for t in times[label][1:])
            for i in (0, 1)
            for label in ("before", "now")
        ]
        sums = [a + b for a, b in zip(sums, row, strict=True)]
        cells = " | ".join(f"{v:.1f}" for v in (row[0], row[1], row[2], row[3]))
        print(f"| {name} | {full.width}x{full.height} | {how} | {cells} |")
    n = len(load_photos(FACES))
    means = " | ".join(f"**{v / n:.1f}**" for v in sums)
    print(f"| mean of {n} photos | | | {means} |")


if __name__ == "__main__":
    main()
