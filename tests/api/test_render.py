"""facegate.api.render: CompreFace's face JSON in the seed and the compreface-1.2 formats."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from facegate.api.render import ResponseFormat, detection_body, face_json
from facegate.engine.faces import AgeRange, Analysis, Box, Face, Gender, Mask, Pose
from facegate.inference import FaceQuery

FACE = Face(
    box=Box(x_min=68, y_min=77, x_max=376, y_max=479, probability=0.9987509250640869),
    landmarks=[(156, 245), (277, 253), (202, 311), (148, 358), (274, 365)],
    embedding=np.array([0.25, -0.5], dtype=np.float32),
    age=AgeRange(low=25, high=32, probability=0.93),
    gender=Gender(value="female", probability=0.99),
    mask=Mask(value="with_mask", probability=0.97),
    pose=Pose(pitch=1.5, roll=-2.0, yaw=3.25),
    execution_time={"detector": 130.0, "age": 30.0},
)
ANALYSIS = Analysis(
    faces=[FACE],
    width=500,
    height=600,
    timings={"total": 200.0},
    plugins_versions={"detector": "retinaface.FaceDetector", "age": "agegender.AgeDetector"},
)
BOX = {"probability": 0.9987509250640869, "x_max": 376, "y_max": 479, "x_min": 68, "y_min": 77}


def test_seed_format_matches_the_documentation_example():
    body = face_json(FACE, response_format="seed", plugins=["age", "gender", "landmarks"])
    assert body == {
        "age": [25, 32],
        "gender": "female",
        "box": BOX,
        "landmarks": [[156, 245], [277, 253], [202, 311], [148, 358], [274, 365]],
    }


def test_compreface_12_format_has_objects_with_probabilities():
    body = face_json(FACE, response_format="compreface-1.2", plugins=["age", "gender", "pose"])
    assert body["age"] == {"low": 25, "high": 32, "probability": 0.93}
    assert body["gender"] == {"value": "female", "probability": 0.99}
    assert body["pose"] == {"pitch": 1.5, "roll": -2.0, "yaw": 3.25}


@pytest.mark.parametrize("response_format", ["seed", "compreface-1.2"])
def test_mask_is_an_object_in_both_formats(response_format: ResponseFormat):
    body = face_json(FACE, response_format=response_format, plugins=["mask"])
    assert body == {"mask": {"value": "with_mask", "probability": 0.97}, "box": BOX}


def test_only_requested_plugins_appear():
    assert face_json(FACE, response_format="seed", plugins=[]) == {"box": BOX}
    with_embedding = face_json(FACE, response_format="seed", plugins=["calculator"])
    assert with_embedding["embedding"] == [0.25, -0.5]


def test_status_adds_execution_time_and_plugins_versions():
    quiet = detection_body(ANALYSIS, FaceQuery(plugins=["age"]), "seed")
    assert quiet == {"result": [{"age": [25, 32], "box": BOX}]}
    loud = detection_body(ANALYSIS, FaceQuery(plugins=["age"], status=True), "seed")
    assert loud["result"][0]["execution_time"] == {"detector": 130.0, "age": 30.0}
    assert loud["plugins_versions"] == ANALYSIS.plugins_versions


@pytest.mark.parametrize("response_format", ["seed", "compreface-1.2"])
def test_landmarks_have_no_time_or_version(response_format: ResponseFormat):
    # CompreFace's ExecutionTimeDto and PluginsVersionsDto have no `landmarks` key.
    face = replace(FACE, execution_time={"detector": 130.0, "landmarks": 1.0, "landmarks68": 4.0})
    versions = {"detector": "d", "landmarks": "l", "landmarks68": "l68"}
    analysis = replace(ANALYSIS, faces=[face], plugins_versions=versions)
    body = detection_body(analysis, FaceQuery(plugins=["landmarks"], status=True), response_format)
    assert "landmarks" in body["result"][0]
    assert body["result"][0]["execution_time"] == {"detector": 130.0}
    assert body["plugins_versions"] == {"detector": "d"}
    asked = detection_body(
        analysis, FaceQuery(plugins=["landmarks68"], status=True), response_format
    )
    assert asked["result"][0]["execution_time"] == {"detector": 130.0, "landmarks68": 4.0}
    assert asked["plugins_versions"] == {"detector": "d", "landmarks68": "l68"}
