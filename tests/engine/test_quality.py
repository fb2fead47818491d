"""facegate.engine.quality: the `quality` plugin's measures, pure and on the real models, each
moving the right way as a good photo is downscaled, blurred and darkened."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageFilter

from facegate.engine import quality
from facegate.engine.faces import FaceRequest, Quality

QUALITY_ONLY = FaceRequest(plugins=frozenset({"quality"}))
PHOTO = "fr_obama.jpg"  # one well-lit, sharp, frontal face, about 110 pixels between the eyes


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _measure(engine: Any, image: Image.Image) -> Quality:
    [face] = engine.analyze(_jpeg(image), QUALITY_ONLY).faces
    assert face.quality is not None and face.embedding is None
    return face.quality


def test_sharpness_of_a_uniform_chip_is_zero_and_ignores_contrast():
    assert quality.sharpness(np.full((112, 112), 80.0)) == 0.0
    rng = np.random.default_rng(0)
    texture = rng.uniform(0, 255, (112, 112))
    smooth = np.add.outer(np.arange(112.0), np.arange(112.0))
    assert quality.sharpness(texture) > 100 * quality.sharpness(smooth)
    # A darker copy of the same chip is as sharp: exposure is brightness's business.
    assert abs(quality.sharpness(texture * 0.2) - quality.sharpness(texture)) < 1e-6


def test_grey_weighs_green_most():
    chip = np.zeros((2, 2, 3), dtype=np.uint8)
    chip[0, 0] = (255, 0, 0)
    chip[0, 1] = (0, 255, 0)
    values = quality.grey(chip)
    assert values[0, 1] > values[0, 0] > 0 and values[1, 1] == 0


def test_measures_of_a_good_photo(model_engine: Any, faces_dir: Path):
    measured = _measure(model_engine, Image.open(faces_dir / PHOTO).convert("RGB"))
    assert 90 < measured.eye_distance < 140
    assert measured.sharpness > 500
    assert 0.3 < measured.brightness < 0.8 and measured.clipped < 0.05
    assert abs(measured.yaw) < 20 and abs(measured.pitch) < 25 and abs(measured.roll) < 10
    assert 0.5 < measured.detection <= 1


def test_each_measure_follows_its_degradation(model_engine: Any, faces_dir: Path):
    photo = Image.open(faces_dir / PHOTO).convert("RGB")
    original = _measure(model_engine, photo)
    smaller = [
        _measure(model_engine, photo.resize((photo.width // f, photo.height // f))).eye_distance
        for f in (2, 4)
    ]
    # Within 7%: the landmarks move by a pixel or two as the detector sees a smaller photo, at
    # its own size since SCRFD stopped enlarging small photos (decisions.md D75: 5.1 % at 1/4).
    assert smaller == pytest.approx(
        [original.eye_distance / 2, original.eye_distance / 4], rel=0.07
    )
    blurred = [
        _measure(model_engine, photo.filter(ImageFilter.GaussianBlur(radius)))
        for radius in (2, 5, 10)
    ]
    sharpness = [original.sharpness, *(q.sharpness for q in blurred)]
    assert sharpness == sorted(sharpness, reverse=True) and sharpness[-1] < sharpness[0] / 20
    # Blur moves neither the face's size nor its exposure.
    assert all(abs(q.eye_distance - original.eye_distance) < 8 for q in blurred)
    assert all(abs(q.brightness - original.brightness) < 0.02 for q in blurred)
    darker = [_measure(model_engine, photo.point(lambda v, k=k: round(v * k))) for k in (0.5, 0.2)]
    brightness = [original.brightness, *(q.brightness for q in darker)]
    assert brightness == sorted(brightness, reverse=True)
    assert darker[-1].brightness < original.brightness / 4
    # Darkening does not read as blur: the chip is measured at one contrast.
    assert all(q.sharpness > original.sharpness / 2 for q in darker)


def test_without_detection_quality_is_skipped_as_pose_is(model_engine: Any, faces_dir: Path):
    data = (faces_dir / PHOTO).read_bytes()
    request = FaceRequest(plugins=frozenset({"quality", "pose"}), detect=False)
    analysis = model_engine.analyze(data, request)
    assert [face.quality for face in analysis.faces] == [None]
    assert "quality" not in analysis.plugins_versions
    # With detection, each face of a group photo has its own measures.
    group = model_engine.analyze((faces_dir / "fr_two_people.jpg").read_bytes(), QUALITY_ONLY)
    measured = [face.quality for face in group.faces]
    assert len(measured) == 2 and all(q is not None for q in measured)
    assert measured[0] != measured[1]
    assert analysis.plugins_versions.get("detector") == group.plugins_versions["detector"]
    assert group.plugins_versions["quality"] == "facegate.QualityEstimator@laplacian"
