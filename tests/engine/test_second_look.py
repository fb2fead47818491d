"""The detectors' second look at a framed photo when nothing passes the threshold
(`engine.geometry.with_second_look`, docs/models.md "Detection recall")."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from facegate.engine import geometry
from facegate.engine.types import Detections
from tests.support.degraded import jpeg

# Every tenth lfw-dev photo, cut to its central 150 x 150 pixels (of 250): the face fills it.
CROP = 150


def _found(boxes: list[list[float]]) -> Detections:
    array = np.array(boxes, dtype=np.float32).reshape(-1, 4)
    return Detections(array, np.ones(len(array), np.float32), np.zeros((len(array), 5, 2)))


def test_a_second_look_frames_the_photo_only_when_nothing_is_found() -> None:
    seen: list[np.ndarray] = []

    def nothing_then_one(pixels: np.ndarray) -> Detections:
        seen.append(pixels)
        return _found([] if len(seen) == 1 else [[60.0, 70.0, 160.0, 180.0]])

    pixels = np.zeros((100, 80, 3), dtype=np.uint8)
    found = geometry.with_second_look(nothing_then_one, pixels, fill=(1, 2, 3))
    border = round(100 * geometry.SECOND_LOOK_BORDER)
    assert [p.shape for p in seen] == [(100, 80, 3), (100 + 2 * border, 80 + 2 * border, 3)]
    assert seen[1][0, 0].tolist() == [1, 2, 3] and not seen[1][border:-border, border:-border].any()
    np.testing.assert_allclose(found.boxes, [[10.0, 20.0, 110.0, 130.0]])  # in the photo's pixels
    calls = len(seen)
    assert len(geometry.with_second_look(nothing_then_one, pixels, fill=(0, 0, 0))) == 1
    assert len(seen) == calls + 1  # found at the first look: no second


def test_faces_that_fill_the_photo_are_found_and_recognised(
    model_engine: Any, lfw_dir: Path
) -> None:
    """insightface-s found no face in 418 of lfw-dev's 433 tight crops before the second look,
    dlib in none; now both find the crop's face, the same person as in the whole photo."""
    with (lfw_dir / "labels.csv").open() as labels:
        files = [row["file"] for row in csv.DictReader(labels)][::10]
    unmatched = []
    for name in files:
        photo = Image.open(lfw_dir / name).convert("RGB")
        left, top = (photo.width - CROP) // 2, (photo.height - CROP) // 2
        crop = photo.crop((left, top, left + CROP, top + CROP))
        # The largest face: a 150 px crop may show a sliver of someone behind, too.
        face, *_ = model_engine.analyze(jpeg(crop)).faces
        assert 0 <= face.box.x_min < face.box.x_max <= CROP
        whole = model_engine.analyze(jpeg(photo)).faces
        best = max(
            model_engine.scale.similarity(face.embedding, other.embedding) for other in whole
        )
        if best < 0.5:
            unmatched.append((name, round(best, 3)))
    print(f"{model_engine.model}: {len(files)} crops, not matched to their photo: {unmatched}")
    assert len(unmatched) <= 1
