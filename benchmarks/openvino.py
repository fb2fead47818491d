"""The OpenVINO execution provider against ONNX Runtime's CPU provider, on the same photos:
per-face embedding agreement (cosine of the two embeddings), box agreement and time per photo.
Prints a markdown table (docs/gpu.md).

Run it where onnxruntime-openvino is the installed ONNX Runtime build (pip install
'facegate[openvino]', docs/gpu.md), which also offers the CPU provider:
  python benchmarks/openvino.py ../shared/faces [--model dlib] [--device CPU] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from facegate.config import Settings
from facegate.engine import runtime
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import Analysis, FaceRequest
from facegate.engine.options import EngineOptions

EMBED = FaceRequest()


def _run(engine: FaceEngine, photos: list[bytes], rounds: int) -> tuple[list[Analysis], float]:
    """Every photo's analysis, and the median over rounds of the mean ms per photo."""
    analyses = [engine.analyze(photo, EMBED) for photo in photos]  # also the warm-up
    means = []
    for _ in range(rounds):
        start = time.perf_counter()
        for photo in photos:
            engine.analyze(photo, EMBED)
        means.append((time.perf_counter() - start) * 1000 / len(photos))
    return analyses, statistics.median(means)


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path)
    parser.add_argument("--model", default="dlib")
    parser.add_argument("--device", default="CPU", help="OpenVINO's device_type")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    offered = runtime.available_providers()
    if runtime.OPENVINO not in offered:
        raise SystemExit(f"no OpenVINOExecutionProvider here (providers: {offered})")
    paths = sorted(p for p in args.photos.iterdir() if p.suffix in {".jpg", ".jpeg", ".png"})
    photos = [p.read_bytes() for p in paths]
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(model=args.model, data_dir=Path(data_dir), threads=args.threads)
        base = EngineOptions.from_settings(settings)
        cpu, cpu_ms = _run(
            FaceEngine.create(dataclasses.replace(base, device="cpu")), photos, args.rounds
        )
        openvino_options = dataclasses.replace(base, device="openvino", openvino_device=args.device)
        ov, ov_ms = _run(FaceEngine.create(openvino_options), photos, args.rounds)
    cosines, box_shifts, differing = [], [], []
    for path, a, b in zip(paths, cpu, ov, strict=True):
        if len(a.faces) != len(b.faces):
            differing.append(f"{path.name} ({len(a.faces)} vs {len(b.faces)} faces)")
            continue
        for fa, fb in zip(a.faces, b.faces, strict=True):
            assert fa.embedding is not None and fb.embedding is not None
            cosines.append(_cosine(fa.embedding, fb.embedding))
            box_shifts.append(
                max(
                    abs(fa.box.x_min - fb.box.x_min),
                    abs(fa.box.y_min - fb.box.y_min),
                    abs(fa.box.x_max - fb.box.x_max),
                    abs(fa.box.y_max - fb.box.y_max),
                )
            )
    print(f"model {args.model}, {len(photos)} photos, {len(cosines)} faces, {args.threads} threads")
    print(
        "| provider | ms/photo | largest 1 - cosine to CPU | mean 1 - cosine | largest box shift |"
    )
    print("|---|---|---|---|---|")
    print(f"| CPU | {cpu_ms:.1f} | 0 | 0 | 0 |")
    print(
        f"| OpenVINO ({args.device}) | {ov_ms:.1f} | {1 - min(cosines):.2e} | "
        f"{1 - statistics.mean(cosines):.2e} | {max(box_shifts)} |"
    )
    if differing:
        print("\nphotos with a different number of faces: " + ", ".join(differing))


if __name__ == "__main__":
    main()
