"""Recognition's shapes and parameters (decisions.md C1.4): in-process, fake engine, both
databases."""

from __future__ import annotations

import base64
from typing import Any

from PIL import Image

from tests.support import png
from tests.support.clients import Api, in_process_api

RECOGNIZE = "/api/v1/recognition/recognize"


def test_response_shape_defaults(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    body = api.recognize("fr_obama2.jpg").json()
    face = body["result"][0]
    assert set(body) == {"result"}
    assert set(face) == {"box", "subjects"}
    assert set(face["box"]) == {"probability", "x_max", "y_max", "x_min", "y_min"}
    assert face["subjects"][0]["subject"] == "obama"
    # Rounded to 5 places, as CompreFace's BigDecimal HALF_UP.
    assert round(face["subjects"][0]["similarity"], 5) == face["subjects"][0]["similarity"]
    assert round(face["box"]["probability"], 5) == face["box"]["probability"]


def test_compreface_response_format(make_settings: Any, fake_engine: Any, faces_dir: Any) -> None:

    settings = make_settings(response_format="compreface-1.2")
    with in_process_api(settings, fake_engine, faces_dir) as api:
        face = api.recognize("fr_obama.jpg", face_plugins="age,gender").json()["result"][0]
        assert set(face["age"]) == {"low", "high", "probability"}
        assert set(face["gender"]) == {"value", "probability"}


def test_detect_faces_false_finds_one_face_in_a_photo_without_any(api: Api) -> None:
    sky = {"file": ("sky.png", png(Image.new("RGB", (300, 200), (90, 140, 200))), "image/png")}
    detected = api.request("POST", RECOGNIZE, files=sky)
    assert detected.json() == {"message": "No face is found in the given image", "code": 28}
    response = api.request("POST", RECOGNIZE, params={"detect_faces": "false"}, files=sky)
    assert response.status_code == 200, response.text
    [face] = response.json()["result"]
    assert (face["box"]["x_max"], face["box"]["y_max"]) == (299, 199)
    bad = api.request("POST", RECOGNIZE, params={"detect_faces": "maybe"}, files=sky)
    assert bad.status_code == 400 and bad.json()["code"] == 26


def test_prediction_count_lists_examples_not_subjects(api: Api) -> None:
    for photo in ("fr_obama.jpg", "fr_obama2.jpg"):
        api.add("obama", photo)
    api.add("biden", "fr_biden.jpg")
    subjects = api.recognize("fr_obama3.jpg", prediction_count=3).json()["result"][0]["subjects"]
    assert [match["subject"] for match in subjects] == ["obama", "obama", "biden"]
    similarities = [match["similarity"] for match in subjects]
    assert similarities == sorted(similarities, reverse=True)


def test_empty_collection_gives_empty_subjects(api: Api) -> None:
    assert api.recognize("fr_obama.jpg").json()["result"][0]["subjects"] == []


def test_base64_body(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    encoded = base64.b64encode(api.photo("fr_obama2.jpg")).decode()
    response = api.request("POST", RECOGNIZE, json={"file": encoded})
    assert response.json()["result"][0]["subjects"][0]["subject"] == "obama"


def test_requests_are_counted_for_recognize_only(api: Api) -> None:
    from datetime import date

    from facegate.collection import statistics

    api.add("obama", "fr_obama.jpg")
    embedding = api.recognize("fr_obama2.jpg", face_plugins="calculator").json()["result"][0]
    api.recognize("fr_obama3.jpg")
    api.request(
        "POST",
        "/api/v1/recognition/embeddings/recognize",
        json={"embeddings": [embedding["embedding"]]},
    )
    with api.session() as s:
        counts = statistics.request_counts(s, service=api.service(s), since=date(2000, 1, 1))
    assert [count for _, count in counts] == [2]
