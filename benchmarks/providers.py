"""Detector and recogniser timings per ONNX Runtime execution provider (CPU and CUDA).

Needs only the ONNX files, facegate's own pre- and post-processing and a folder of photos, so
it runs on a GPU machine where dlib's model files are not installed: SCRFD-500M + ArcFace
MobileFaceNet (insightface-s) and RetinaFace + dlib's ResNet as ONNX (the dlib set without its
dlib-run 5-point aligner; its chips are cut with ArcFace alignment here, which times the
network, not the alignment). Prints markdown tables (docs/performance.md).

Usage: python benchmarks/providers.py MODELS_DIR PHOTOS_DIR [--rounds 5]
  MODELS_DIR holds scrfd_500m_bnkps.onnx, w600k_mbf.onnx, retinaface.onnx and
  dlib_face_recognition_resnet_model_v1.onnx (from `facegate models build`).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

from facegate.config import Settings
from facegate.engine import runtime
from facegate.engine.images import decode
from facegate.engine.insightface.arcface import ArcFaceRecognizer, aligned_chips
from facegate.engine.insightface.scrfd import ScrfdDetector
from facegate.engine.options import EngineOptions
from facegate.engine.retinaface import RetinaFaceDetector


def _ms(call: Callable[[], object], rounds: int) -> float:
    call()  # warm-up: providers plan memory per input shape
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def detector_ms(
    detector: ScrfdDetector | RetinaFaceDetector, pixels: list[Any], rounds: int
) -> float:
    """Mean over the photos of the median ms of one detection."""
    return statistics.mean(_ms(partial(detector.detect, p, threshold=0.5), rounds) for p in pixels)


def recogniser_ms(embed: Callable[[Any], object], chips: Any, rounds: int) -> list[float]:
    """Per-face ms at batch 1, 8 and 32 (the chips repeated as needed)."""
    tiled = np.concatenate([chips] * (32 // len(chips) + 1))
    return [_ms(partial(embed, np.ascontiguousarray(tiled[:n])), rounds) / n for n in (1, 8, 32)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", type=Path)
    parser.add_argument("photos", type=Path)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    available = ort.get_available_providers()
    print(f"onnxruntime {ort.__version__}, providers {available}\n")
    devices = ["cpu"] + (["cuda"] if runtime.CUDA in available else [])
    photos = sorted(p for p in args.photos.iterdir() if p.suffix in {".jpg", ".jpeg", ".png"})
    print("| device | detector | ms/photo (mean of medians) | recogniser | ms/face b1 | b8 | b32 |")
    print("|---|---|---|---|---|---|---|")
    for device in devices:
        options = EngineOptions.from_settings(Settings(device=device, data_dir=args.models))
        pixels = [
            decode(p.read_bytes(), max_image_pixels=options.max_image_pixels).pixels for p in photos
        ]
        scrfd = ScrfdDetector(
            runtime.create_session(args.models / "scrfd_500m_bnkps.onnx", options=options),
            max_detect_size=640,
        )
        retina = RetinaFaceDetector(
            runtime.create_session(args.models / "retinaface.onnx", options=options),
            max_detect_size=640,
        )
        arcface = ArcFaceRecognizer(
            runtime.create_session(args.models / "w600k_mbf.onnx", options=options),
            calculator_id="bench",
            detector=scrfd,
        )
        dlib_net = runtime.create_session(
            args.models / "dlib_face_recognition_resnet_model_v1.onnx", options=options
        )
        found = [scrfd.detect(p, threshold=0.5) for p in pixels]
        pairs = list(zip(pixels, found, strict=True))
        chips = np.concatenate([aligned_chips(p, f.landmarks) for p, f in pairs])
        chips150 = np.concatenate([aligned_chips(p, f.landmarks, size=150) for p, f in pairs])
        dlib_input = dlib_net.get_inputs()[0].name
        rows = [
            ("SCRFD-500M", scrfd, "ArcFace MobileFaceNet", arcface.embed, chips),
            (
                "RetinaFace-MobileNet0.25",
                retina,
                "dlib ResNet (ONNX)",
                partial(_run, dlib_net, dlib_input),
                chips150,
            ),
        ]
        for det_name, detector, rec_name, embed, faces in rows:
            per_photo = detector_ms(detector, pixels, args.rounds)
            cells = " | ".join(f"{ms:.2f}" for ms in recogniser_ms(embed, faces, args.rounds))
            print(f"| {device} | {det_name} | {per_photo:.1f} | {rec_name} | {cells} |")


def _run(session: Any, name: str, batch: Any) -> object:
    return session.run(None, {name: batch})


if __name__ == "__main__":
    main()
