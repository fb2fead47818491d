"""facegate.collection.quality_gate: which limits a face fails, and how the refusal reads."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from facegate.collection.quality_gate import QualityLimits, check, refusals
from facegate.engine import plugins
from facegate.engine.faces import Box, Face, FaceRequest, Quality
from facegate.errors import ExampleRefused
from tests.support.degraded import jpeg

GOOD = Quality(
    eye_distance=100.0,
    sharpness=900.0,
    brightness=0.5,
    clipped=0.0,
    yaw=5.0,
    pitch=-3.0,
    roll=1.0,
    detection=0.99,
)


def _face(quality: Quality | None) -> Face:
    return Face(box=Box(0, 0, 10, 10, 0.99), landmarks=[], quality=quality)


def test_a_good_face_passes_the_default_limits():
    assert refusals(GOOD, QualityLimits()) == []
    check(_face(GOOD), QualityLimits())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"eye_distance": 12.5}, "face too small (eye distance 12.5 px, the service requires at "),
        ({"sharpness": 7.25}, "face too blurred (sharpness 7.25, the service requires at least "),
        ({"brightness": 0.04}, "face too dark (brightness 0.04, the service requires at least "),
        ({"brightness": 0.97}, "face too bright (brightness 0.97, the service allows at most "),
        ({"yaw": -70.0}, "face turned too far sideways (yaw 70 degrees, the service allows "),
        ({"pitch": 60.0}, "face tilted too far up or down (pitch 60 degrees, the service "),
        ({"detection": 0.1}, "face hardly recognisable (detection score 0.1, the service "),
    ],
)
def test_each_measure_is_named_with_its_value_and_limit(change: dict[str, float], reason: str):
    limits = QualityLimits(max_yaw=40, max_pitch=35, min_detection=0.5)
    failed = refusals(dataclasses.replace(GOOD, **change), limits)
    assert len(failed) == 1 and failed[0].startswith(reason)


def test_every_failing_measure_is_named_in_one_refusal():
    poor = dataclasses.replace(GOOD, eye_distance=5.0, sharpness=1.0)
    with pytest.raises(ExampleRefused) as caught:
        check(_face(poor), QualityLimits(min_sharpness=40))
    body = caught.value.body()
    assert body["code"] == 0 and caught.value.status == 400
    assert body["message"].startswith("Example refused: face too small (eye distance 5 px")
    assert "; face too blurred (sharpness 1, the service requires at least 40)" in body["message"]


def test_a_limit_of_none_is_not_checked_and_pose_and_detection_are_off_by_default():
    poor = dataclasses.replace(GOOD, sharpness=1.0, yaw=80.0, pitch=-80.0, detection=0.1)
    assert refusals(poor, QualityLimits(min_sharpness=None)) == []


def test_limits_round_trip_through_their_stored_form():
    limits = QualityLimits(min_sharpness=12.0, max_yaw=None)
    assert QualityLimits.from_json(limits.to_json()) == limits
    # A row stored before a limit existed takes that limit's default; unknown names are dropped.
    assert QualityLimits.from_json({"min_sharpness": 12.0, "gone": 1.0}) == QualityLimits(
        min_sharpness=12.0
    )


def test_a_face_the_plugin_did_not_measure_is_a_bug_not_a_pass():
    with pytest.raises(RuntimeError):
        check(_face(None), QualityLimits())


def _brightness_of(engine: Any, image: Image.Image) -> tuple[float, list[str]]:
    """The largest face's brightness in `image`, and what the default limits say of it."""
    request = FaceRequest(plugins=frozenset({plugins.QUALITY}))
    (face, *_) = engine.analyze(jpeg(image), request).faces
    assert face.quality is not None
    return face.quality.brightness, refusals(face.quality, QualityLimits())


def test_a_bright_studio_portrait_passes_the_defaults_and_a_blown_one_does_not(
    model_engine: Any, faces_dir: Path
) -> None:
    """A sharp, well-lit portrait brightened to the studio portrait the old 0.6 limit refused
    (brightness 0.638) passes; blown out (pixel values times 3), it is refused as too bright and
    for nothing else (docs/quality.md, decisions.md D61)."""
    photo = Image.open(faces_dir / "fr_obama.jpg").convert("RGB")
    original, refused_as = _brightness_of(model_engine, photo)
    assert refused_as == []
    factor = 0.64 / original
    studio, refused_as = _brightness_of(model_engine, photo.point(lambda v: min(255, v * factor)))
    assert 0.62 <= studio <= 0.68 and refused_as == []
    blown, refused_as = _brightness_of(model_engine, photo.point(lambda v: min(255, v * 3)))
    assert blown > 0.73 and len(refused_as) == 1 and refused_as[0].startswith("face too bright")
