"""facegate.engine.retinaface on the real RetinaFace model: counts, golden values, scaling."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.engine.images import decode
from facegate.engine.model_sets import RETINAFACE_THRESHOLD
from facegate.engine.retinaface import RetinaFaceDetector
from tests.support import engine_options

OPTIONS = engine_options()


@pytest.fixture(scope="module")
def detector() -> RetinaFaceDetector:
    return RetinaFaceDetector.load(OPTIONS)


def _pixels(faces_dir: Path, name: str) -> np.ndarray:
    return decode((faces_dir / name).read_bytes(), max_image_pixels=OPTIONS.max_image_pixels).pixels


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    x1, y1 = np.maximum(a[:2], b[:2])
    x2, y2 = np.minimum(a[2:], b[2:])
    overlap = max(0.0, x2 - x1) * max(0.0, y2 - y1)
    area = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1])
    return float(overlap / (area - overlap))


def test_face_count_of_every_manifest_photo(
    detector: RetinaFaceDetector, faces_dir: Path, manifest: list[dict[str, Any]]
):
    wrong = []
    lowest_face, highest_extra = 1.0, 0.0
    for entry in manifest:
        found = detector.detect(_pixels(faces_dir, entry["file"]), threshold=0.1)
        kept = int((found.scores > RETINAFACE_THRESHOLD).sum())
        if kept != entry["faces"]:
            wrong.append((entry["file"], kept, entry["faces"]))
        lowest_face = min(lowest_face, float(found.scores[: entry["faces"]].min()))
        if len(found) > entry["faces"]:
            highest_extra = max(highest_extra, float(found.scores[entry["faces"]]))
    print(f"lowest true face score {lowest_face:.4f}, highest other score {highest_extra:.4f}")
    assert wrong == []


def test_golden_box_and_landmarks(detector: RetinaFaceDetector, faces_dir: Path):
    found = detector.detect(_pixels(faces_dir, "fr_obama_small.jpg"), threshold=0.8)
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes[0], [105.1, 38.1, 213.2, 193.3], atol=1.0)
    np.testing.assert_allclose(
        found.landmarks[0],
        [[137.1, 95.7], [187.5, 95.6], [164.3, 125.6], [136.0, 143.3], [187.7, 143.4]],
        atol=1.0,
    )
    assert found.scores[0] > 0.999


def test_large_images_are_downscaled_but_boxes_are_in_original_pixels(
    detector: RetinaFaceDetector, faces_dir: Path
):
    pixels = _pixels(faces_dir, "fr_obama-1080p.jpg")  # 1920x1080, detected at 640x360
    batch, scale = detector.prepare(pixels)
    assert batch.shape == (1, 3, 360, 640)
    assert scale == 3.0
    found = detector.detect(pixels, threshold=0.8)
    full = RetinaFaceDetector.load(engine_options(max_detect_size=1920)).detect(
        pixels, threshold=0.8
    )
    assert len(found) == len(full) == 1
    assert _iou(found.boxes[0], full.boxes[0]) > 0.9
    np.testing.assert_allclose(found.landmarks[0], full.landmarks[0], atol=12)


def test_small_images_are_not_upscaled(detector: RetinaFaceDetector):
    batch, scale = detector.prepare(np.zeros((240, 320, 3), dtype=np.uint8))
    assert batch.shape == (1, 3, 240, 320)
    assert scale == 1.0


def test_threshold_is_strict(detector: RetinaFaceDetector, faces_dir: Path):
    pixels = _pixels(faces_dir, "fr_two_people.jpg")
    found = detector.detect(pixels, threshold=0.8)
    assert len(found) == 2
    lower = float(found.scores.min())
    assert len(detector.detect(pixels, threshold=lower)) == 1
    assert list(found.scores) == sorted(found.scores, reverse=True)


def test_no_face_gives_empty_detections(detector: RetinaFaceDetector):
    found = detector.detect(np.full((300, 400, 3), 128, dtype=np.uint8), threshold=0.0)
    assert found.boxes.shape[1:] == (4,)
    assert len(detector.detect(np.full((300, 400, 3), 128, dtype=np.uint8), threshold=0.8)) == 0
