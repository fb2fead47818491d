"""The response format per face service (decisions.md D1): two services on one server answer age
and gender each in its own shape; a service without a choice follows the server's setting.
In-process, fake engine, both databases."""

from __future__ import annotations

from typing import Any

import pytest

from facegate import face_services
from facegate.config import ResponseFormat, Settings
from tests.support.clients import Api, in_process_api
from tests.support.fake_engine import FakeEngine
from tests.support.servers import create_service

RECOGNIZE = "/api/v1/recognition/recognize"
AGE_GENDER = {"face_plugins": "age,gender"}


def _choose(api: Api, key: str, kind: str, response_format: ResponseFormat | None) -> None:
    with api.session() as s:
        service = face_services.service_by_key(s, api_key=key, type=kind)
        assert service is not None
        face_services.change_settings(s, service=service, response_format=response_format)


def _recognized(api: Api, key: str) -> dict[str, Any]:
    files = {"file": ("fr_obama.jpg", api.photo("fr_obama.jpg"), "image/jpeg")}
    response = api.client.post(
        RECOGNIZE, params=AGE_GENDER, files=files, headers={"x-api-key": key}
    )
    assert response.status_code == 200, response.text
    face: dict[str, Any] = response.json()["result"][0]
    return face


def _is_seed(face: dict[str, Any]) -> bool:
    age, gender = face["age"], face["gender"]
    if isinstance(age, list) and isinstance(gender, str):
        assert len(age) == 2 and age[0] <= age[1] and gender in ("male", "female")
        return True
    return False


def _is_compreface(face: dict[str, Any]) -> bool:
    age, gender = face["age"], face["gender"]
    if isinstance(age, dict) and isinstance(gender, dict):
        assert list(age) == ["low", "high", "probability"] and age["low"] <= age["high"]
        assert list(gender) == ["value", "probability"] and gender["value"] in ("male", "female")
        assert 0 <= age["probability"] <= 1 and 0 <= gender["probability"] <= 1
        return True
    return False


def test_two_services_on_one_server_answer_in_their_own_format(api: Api) -> None:
    """The server keeps the seed's format; one service chooses CompreFace 1.2's (Double Take's),
    another chooses nothing and follows the server."""
    double_take = api.keys["recognition"]
    _choose(api, double_take, "recognition", "compreface-1.2")
    seed_client = create_service(api.settings, "recognition", name="seed clients")
    assert api.settings.response_format == "seed"

    assert _is_compreface(_recognized(api, double_take))
    assert _is_seed(_recognized(api, seed_client))
    # Back to the server's setting.
    _choose(api, double_take, "recognition", None)
    assert _is_seed(_recognized(api, double_take))


def test_a_service_may_choose_the_seed_format_on_a_compreface_server(
    make_settings: Any, fake_engine: FakeEngine, faces_dir: Any
) -> None:
    settings: Settings = make_settings(response_format="compreface-1.2")
    with in_process_api(settings, fake_engine, faces_dir) as api:
        seed_client = create_service(settings, "recognition", name="seed clients")
        _choose(api, seed_client, "recognition", "seed")
        assert _is_seed(_recognized(api, seed_client))
        assert _is_compreface(_recognized(api, api.keys["recognition"]))


@pytest.mark.parametrize("response_format", ["seed", "compreface-1.2"])
def test_every_endpoint_that_shows_faces_uses_the_services_format(
    api: Api, response_format: ResponseFormat
) -> None:
    """Detect, verify and an example's verify render with their own service's choice, which
    differs here from the server's (`seed`) in the `compreface-1.2` case."""
    is_shape = _is_seed if response_format == "seed" else _is_compreface
    for kind in ("recognition", "detection", "verification"):
        _choose(api, api.keys[kind], kind, response_format)

    detected = api.request(
        "POST",
        "/api/v1/detection/detect",
        "detection",
        params=AGE_GENDER,
        files={"file": ("fr_obama.jpg", api.photo("fr_obama.jpg"), "image/jpeg")},
    )
    assert is_shape(detected.json()["result"][0]), detected.text

    verified = api.verify("fr_obama.jpg", "fr_obama2.jpg", **AGE_GENDER).json()["result"][0]
    assert is_shape(verified["source_image_face"]) and is_shape(verified["face_matches"][0])

    image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
    against = api.request(
        "POST",
        f"/api/v1/recognition/faces/{image_id}/verify",
        params=AGE_GENDER,
        files={"file": ("fr_obama2.jpg", api.photo("fr_obama2.jpg"), "image/jpeg")},
    )
    assert is_shape(against.json()["result"][0]), against.text
