"""facegate.engine.dlib.landmarks: dlib alignment points, chips and the 68-point predictor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.engine.dlib.age_gender import AgeGender
from facegate.engine.dlib.embedder import DlibEmbedder
from facegate.engine.dlib.landmarks import Aligner, Landmarks68
from facegate.engine.dlib.recognizer import DlibRecognizer
from facegate.engine.images import decode
from facegate.engine.types import Detections, Photo
from tests.support import engine_options

# fr_obama_small.jpg: RetinaFace's box (see test_detector's golden values).
BOX = np.array([[105.1, 38.1, 213.2, 193.3]], dtype=np.float32)


@pytest.fixture(scope="module")
def pixels(faces_dir: Path) -> np.ndarray:
    return decode(
        (faces_dir / "fr_obama_small.jpg").read_bytes(),
        max_image_pixels=engine_options().max_image_pixels,
    ).pixels


def test_alignment_points_fall_on_the_face(pixels: np.ndarray):
    aligner = Aligner.load()
    shapes = aligner.shapes(pixels, BOX)
    assert len(shapes) == 1
    points = [(p.x, p.y) for p in shapes[0].parts()]
    assert aligner.points(pixels, BOX) == [points]
    assert len(points) == 5
    for x, y in points:
        assert 105 <= x <= 214 and 38 <= y <= 194


def test_chips_have_the_requested_size(pixels: np.ndarray):
    aligner = Aligner.load()
    shapes = aligner.shapes(pixels, np.concatenate([BOX, BOX]))
    chips = aligner.chips(pixels, shapes)
    assert chips.shape == (2, 150, 150, 3) and chips.dtype == np.uint8
    assert np.array_equal(chips[0], chips[1])
    assert aligner.chips(pixels, shapes, size=32, padding=0.2).shape == (2, 32, 32, 3)
    assert aligner.chips(pixels, aligner.shapes(pixels, BOX[:0])).shape == (0, 150, 150, 3)


def test_landmarks68(pixels: np.ndarray):
    (points,) = Landmarks68.load().points(pixels, BOX)
    assert len(points) == 68
    jaw, nose_tip = points[8], points[30]  # chin bottom and nose tip in the iBUG layout
    assert jaw[1] > nose_tip[1]


def test_one_photo_is_aligned_once_for_the_embedder_and_age_and_gender(pixels: np.ndarray):
    calls = []

    class CountingAligner(Aligner):
        def shapes(self, pixels: np.ndarray, boxes: np.ndarray) -> Any:
            calls.append(len(boxes))
            return super().shapes(pixels, boxes)

    aligner = CountingAligner.load()
    found = Detections(BOX, np.ones(1, np.float32), np.zeros((1, 5, 2), np.float32))
    photo = Photo(pixels, found, aligner)
    chips = DlibRecognizer(aligner, DlibEmbedder.load()).chips(photo)
    ages, genders = AgeGender.load(engine_options(threads=1)).estimate(photo, age=True, gender=True)
    assert (chips.shape, len(ages), len(genders)) == ((1, 150, 150, 3), 1, 1)
    assert calls == [1]
