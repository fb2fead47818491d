"""Malformed input on every endpoint: CompreFace's status and body, no stored change, still up."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from tests.support.clients import Api, in_process_api

ZERO = "00000000-0000-0000-0000-000000000000"
# Every endpoint that needs `x-api-key`, with the service type its URL names.
KEYED = [
    ("POST", "/api/v1/recognition/subjects", "recognition"),
    ("GET", "/api/v1/recognition/subjects", "recognition"),
    ("PUT", "/api/v1/recognition/subjects/x", "recognition"),
    ("DELETE", "/api/v1/recognition/subjects/x", "recognition"),
    ("DELETE", "/api/v1/recognition/subjects", "recognition"),
    ("POST", "/api/v1/recognition/faces", "recognition"),
    ("GET", "/api/v1/recognition/faces", "recognition"),
    ("DELETE", "/api/v1/recognition/faces", "recognition"),
    ("DELETE", f"/api/v1/recognition/faces/{ZERO}", "recognition"),
    ("POST", "/api/v1/recognition/faces/delete", "recognition"),
    ("GET", f"/api/v1/recognition/faces/{ZERO}/img", "recognition"),
    ("POST", f"/api/v1/recognition/faces/{ZERO}/verify", "recognition"),
    ("POST", f"/api/v1/recognition/embeddings/faces/{ZERO}/verify", "recognition"),
    ("POST", "/api/v1/recognition/recognize", "recognition"),
    ("POST", "/api/v1/recognition/embeddings/recognize", "recognition"),
    ("GET", "/api/v1/recognition/gallery-check", "recognition"),
    ("PUT", f"/api/v1/recognition/faces/{ZERO}/set-aside", "recognition"),
    ("DELETE", f"/api/v1/recognition/faces/{ZERO}/set-aside", "recognition"),
    ("GET", "/api/v1/recognition/rejections", "recognition"),
    ("POST", "/api/v1/recognition/rejections", "recognition"),
    ("DELETE", f"/api/v1/recognition/rejections/{ZERO}", "recognition"),
    ("POST", "/api/v1/detection/detect", "detection"),
    ("POST", "/api/v1/verification/verify", "verification"),
    ("POST", "/api/v1/verification/embeddings/verify", "verification"),
]
# Endpoints taking an image, with their image part names.
IMAGE_ENDPOINTS = [
    ("/api/v1/recognition/faces?subject=x", "recognition", ["file"]),
    ("/api/v1/recognition/recognize", "recognition", ["file"]),
    ("/api/v1/detection/detect", "detection", ["file"]),
    ("/api/v1/verification/verify", "verification", ["source_image", "target_image"]),
]


def _snapshot(api: Api) -> tuple[list[str], list[dict[str, str]]]:
    return sorted(api.subjects()), sorted(api.examples(), key=lambda f: f["image_id"])


@pytest.fixture
def seeded(api: Api) -> Any:
    """A collection with data in it; after the test it must be exactly as it was."""
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    before = _snapshot(api)
    yield api
    assert _snapshot(api) == before
    assert api.client.get("/healthz").status_code == 200


def _error(response: Any, status: int, code: int, message: str | None = None) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"message", "code"} and body["code"] == code, body
    if message is not None:
        assert body["message"] == message


def test_api_key_checks_on_every_endpoint(seeded: Api) -> None:
    api = seeded
    for method, path, kind in KEYED:
        _error(api.client.request(method, path), 400, 20, "Missing header: x-api-key")
        short = api.client.request(method, path, headers={"x-api-key": "abc"})
        _error(short, 400, 26, "Service API key should be UUID")
        unknown = api.client.request(method, path, headers={"x-api-key": ZERO})
        _error(unknown, 404, 10, f"{kind.capitalize()} service with API Key {ZERO} not found")
        other = "detection" if kind != "detection" else "recognition"
        wrong = api.client.request(method, path, headers={"x-api-key": api.keys[other]})
        key = api.keys[other]
        _error(wrong, 404, 10, f"{kind.capitalize()} service with API Key {key} not found")


def test_bad_images_on_every_image_endpoint(seeded: Api) -> None:
    api = seeded
    photo = api.photo("fr_obama.jpg")
    for path, kind, parts in IMAGE_ENDPOINTS:
        good = {part: ("a.jpg", photo, "image/jpeg") for part in parts}
        for part in parts:
            missing = {k: v for k, v in good.items() if k != part} or {"other": ("a.jpg", photo)}
            _error(
                api.request("POST", path, kind, files=missing),
                400,
                34,
                f"Required part {part} is missing",
            )
            wrong_ext = good | {part: ("a.txt", photo, "text/plain")}
            _error(
                api.request("POST", path, kind, files=wrong_ext),
                400,
                21,
                "File [a.txt] has an unavailable extension",
            )
            blob = good | {part: ("blob", photo, "image/jpeg")}
            _error(
                api.request("POST", path, kind, files=blob),
                400,
                21,
                "File [blob] has an unavailable extension",
            )
            not_image = good | {part: ("a.jpg", b"this is not an image", "image/jpeg")}
            _error(api.request("POST", path, kind, files=not_image), 400, 21)
            empty = good | {part: ("a.png", b"", "image/png")}
            _error(api.request("POST", path, kind, files=empty), 400, 21)
        encoded = base64.b64encode(photo).decode()
        good_json = {part: encoded for part in parts}
        for part in parts:
            bad = good_json | {part: "not base64 at all!"}
            _error(
                api.request("POST", path, kind, json=bad), 400, 21, "Provided value is not Base64"
            )
            data_url = good_json | {part: "data:image/jpeg;base64," + encoded}
            _error(
                api.request("POST", path, kind, json=data_url),
                400,
                21,
                "Provided value is not Base64",
            )
            garbage = good_json | {part: base64.b64encode(b"not an image").decode()}
            _error(api.request("POST", path, kind, json=garbage), 400, 21)
        _error(api.request("POST", path, kind, json={}), 400, 5)
        broken = api.request(
            "POST", path, kind, content=b"{not json", headers={"content-type": "application/json"}
        )
        _error(broken, 400, 0)


def test_file_over_max_file_size(make_settings: Any, fake_engine: Any, faces_dir: Any) -> None:

    with in_process_api(make_settings(max_file_size=10_000), fake_engine, faces_dir) as api:
        response = api.add("obama", "fr_obama.jpg")
        _error(response, 413, 21)
        assert api.subjects() == []


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"limit": "-1"}, 26, "Limit should be equal or greater than 0; "),
        ({"limit": "abc"}, 26, None),
        ({"prediction_count": "0"}, 26, "prediction_count should be equal or greater than 1; "),
        ({"prediction_count": "-2"}, 26, "prediction_count should be equal or greater than 1; "),
        ({"prediction_count": "x"}, 26, None),
        ({"det_prob_threshold": "1.5"}, 28, None),
        ({"det_prob_threshold": "-0.1"}, 28, None),
        ({"det_prob_threshold": "high"}, 26, None),
        ({"status": "maybe"}, 26, None),
    ],
)
def test_bad_parameters(
    seeded: Api, params: dict[str, str], code: int, message: str | None
) -> None:
    _error(seeded.recognize("fr_obama2.jpg", **params), 400, code, message)


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("", 26, "Subject name cannot be empty"),
        ("   ", 26, "Subject name cannot be empty"),
        ("x" * 51, 26, "Subject name size must be between 1 and 50"),
        ("a;b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("a/b", 36, None),
        ("a\\b", 36, None),
        (None, 26, "Subject name cannot be empty"),
    ],
)
def test_bad_subject_names(seeded: Api, name: str | None, code: int, message: str | None) -> None:
    create = seeded.request("POST", "/api/v1/recognition/subjects", json={"subject": name})
    _error(create, 400, code, message)
    rename = seeded.request("PUT", "/api/v1/recognition/subjects/obama", json={"subject": name})
    _error(rename, 400, code, message)


def test_add_example_subject_parameter(seeded: Api) -> None:
    photo = {"file": ("a.jpg", seeded.photo("fr_obama.jpg"), "image/jpeg")}
    missing = seeded.request("POST", "/api/v1/recognition/faces", files=photo)
    _error(missing, 400, 33, "Required parameter subject is missing")
    blank = seeded.request("POST", "/api/v1/recognition/faces?subject=%20", files=photo)
    _error(blank, 400, 26, "Subject name is empty; ")


def test_unknown_ids(seeded: Api) -> None:
    api = seeded
    _error(
        api.request("DELETE", f"/api/v1/recognition/faces/{ZERO}"),
        404,
        44,
        f"Image {ZERO} not found",
    )
    _error(api.request("DELETE", "/api/v1/recognition/faces/not-a-uuid"), 404, 44)
    verify = api.request(
        "POST",
        f"/api/v1/recognition/faces/{ZERO}/verify",
        files={"file": ("a.jpg", api.photo("fr_obama2.jpg"), "image/jpeg")},
    )
    _error(verify, 404, 44, "Image Id is incorrect")
    embedding = api.request(
        "POST",
        f"/api/v1/recognition/embeddings/faces/{ZERO}/verify",
        json={"embeddings": [[0.1] * 128]},
    )
    _error(embedding, 404, 44, "Image Id is incorrect")
    assert api.request("POST", "/api/v1/recognition/faces/delete", json=[ZERO]).json() == []


def test_no_face_and_wrong_embedding_sizes(seeded: Api) -> None:
    api = seeded
    no_face = api.add("nobody", "fr_obama.jpg", det_prob_threshold="1")
    _error(no_face, 400, 28, "No face is found in the given image")
    two = api.add("pair", "fr_two_people.jpg")
    _error(two, 400, 31, "More than one face in the source image")
    short = api.request(
        "POST", "/api/v1/recognition/embeddings/recognize", json={"embeddings": [[0.1, 0.2]]}
    )
    _error(short, 400, 0)
    mixed = api.request(
        "POST",
        "/api/v1/verification/embeddings/verify",
        "verification",
        json={"source": [0.1, 0.2], "targets": [[0.1, 0.2, 0.3]]},
    )
    _error(mixed, 400, 0)
    not_numbers = api.request(
        "POST", "/api/v1/recognition/embeddings/recognize", json={"embeddings": [["a", "b"]]}
    )
    _error(not_numbers, 400, 26)


def test_unknown_paths_and_methods(seeded: Api) -> None:
    _error(seeded.request("GET", "/api/v1/nothing/here"), 404, 0)
    _error(
        seeded.request("PATCH", "/api/v1/recognition/subjects"),
        405,
        0,
        "Request method 'PATCH' not supported",
    )
    _error(seeded.request("GET", "/api/v1/recognition/recognize"), 405, 0)


def test_bulk_delete_needs_an_array_of_ids(seeded: Api) -> None:
    for body in ({"ids": []}, [1, 2], "x"):
        response = seeded.request("POST", "/api/v1/recognition/faces/delete", json=body)
        _error(response, 400, 26, "The request body must be a JSON array of image ids")
