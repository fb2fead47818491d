"""The `quality` plugin and the enrolment quality gate (decisions.md D24) over real HTTP, on the
real engine of each model set and both databases: a good photo is accepted and its downscaled,
blurred and darkened copies are refused, each for its own measure; off (the default), every
example is accepted with CompreFace's answer."""

from __future__ import annotations

from typing import Any

from facegate import face_services
from facegate.collection.quality_gate import QualityLimits
from tests.support.clients import Api, ok, refused
from tests.support.degraded import GOOD_PHOTO, REASONS, variants

MEASURES = {"eye_distance", "sharpness", "brightness", "clipped", "yaw", "pitch", "roll"}


def _add(api: Api, name: str, data: bytes) -> Any:
    return api.request(
        "POST",
        "/api/v1/recognition/faces",
        params={"subject": "obama"},
        files={"file": (name, data, "image/jpeg")},
    )


def test_gate_refuses_each_degradation_for_its_own_measure(api: Api) -> None:
    with api.session() as s:
        face_services.change_settings(s, service=api.service(s), enrolment_quality=QualityLimits())
    original = ok(_add(api, GOOD_PHOTO, api.photo(GOOD_PHOTO)), 201)
    for name, data in variants(api.faces / GOOD_PHOTO).items():
        message = refused(_add(api, name, data), 400, 0)
        assert message.startswith("Example refused: ") and REASONS[name] in message, message
        others = set(REASONS.values()) - {REASONS[name]}
        assert not any(reason in message for reason in others), message
    assert api.examples() == [original | {"set_aside": False}]


def test_gate_is_off_by_default_and_answers_unchanged(api: Api) -> None:
    with api.session() as s:
        assert face_services.enrolment_quality_of(api.service(s)) is None
    for name, data in variants(api.faces / GOOD_PHOTO).items():
        added = ok(_add(api, name, data), 201)
        assert set(added) == {"image_id", "subject"} and added["subject"] == "obama"
    assert len(api.examples()) == len(REASONS)


def test_quality_plugin_only_when_asked(api: Api) -> None:
    plain = ok(api.recognize(GOOD_PHOTO))
    assert "quality" not in plain["result"][0]
    asked = ok(api.recognize(GOOD_PHOTO, face_plugins="quality", status="true"))
    quality = asked["result"][0]["quality"]
    assert set(quality) == MEASURES | {"detection"}
    assert abs(quality["detection"] - asked["result"][0]["box"]["probability"]) < 1e-4
    assert quality["eye_distance"] > 90 and quality["sharpness"] > 100
    assert asked["plugins_versions"]["quality"] == "facegate.QualityEstimator@laplacian"
    assert "quality" in asked["result"][0]["execution_time"]
    detected = ok(
        api.request(
            "POST",
            "/api/v1/detection/detect",
            "detection",
            params={"face_plugins": "quality"},
            files={"file": (GOOD_PHOTO, api.photo(GOOD_PHOTO), "image/jpeg")},
        )
    )
    assert set(detected["result"][0]["quality"]) == MEASURES | {"detection"}
