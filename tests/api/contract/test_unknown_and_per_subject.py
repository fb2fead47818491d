"""facegate's recognition extensions (decisions.md D19): `min_similarity` and the service's
threshold, `aggregate=subject`, and verification against a whole subject. In-process, fake
engine (the same person 0.985, two people about 0.1), both databases."""

from __future__ import annotations

import base64

import pytest

from facegate import face_services
from tests.support.clients import Api, subject_path

RECOGNIZE = "/api/v1/recognition/recognize"
EMBEDDINGS = "/api/v1/recognition/embeddings/recognize"


def _names(api: Api, photo: str, **params: object) -> list[str]:
    response = api.recognize(photo, **params)
    assert response.status_code == 200, response.text
    return [match["subject"] for match in response.json()["result"][0]["subjects"]]


def _set_threshold(api: Api, threshold: float | None) -> None:
    with api.session() as s:
        face_services.change_settings(s, service=api.service(s), similarity_threshold=threshold)


def test_min_similarity_leaves_strangers_unknown(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    # Without it, CompreFace's answer: the nearest example, however far.
    assert _names(api, "fr_biden.jpg") == ["obama"]
    assert _names(api, "fr_biden.jpg", min_similarity=0.5) == []
    assert _names(api, "fr_obama2.jpg", min_similarity=0.5) == ["obama"]
    assert _names(api, "fr_obama2.jpg", min_similarity=" 1 ") == []  # the same person: 0.985


def test_the_service_threshold_and_the_request_overriding_it(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    _set_threshold(api, 0.5)
    assert _names(api, "fr_biden.jpg") == []
    assert _names(api, "fr_obama2.jpg") == ["obama"]
    assert _names(api, "fr_biden.jpg", min_similarity=0) == ["obama"]
    _set_threshold(api, None)
    assert _names(api, "fr_biden.jpg") == ["obama"]


@pytest.mark.parametrize("value", ["-0.1", "1.5", "nan", "high"])
def test_min_similarity_out_of_range_is_refused(api: Api, value: str) -> None:
    response = api.recognize("fr_obama.jpg", min_similarity=value)
    assert response.status_code == 400 and response.json()["code"] == 26, response.text
    embeddings = api.request(
        "POST", EMBEDDINGS, params={"min_similarity": value}, json={"embeddings": [[1.0] * 32]}
    )
    assert embeddings.status_code == 400 and embeddings.json()["code"] == 26


def test_aggregate_subject_counts_people(api: Api) -> None:
    for photo in ("fr_obama.jpg", "fr_obama2.jpg", "fr_obama3.jpg"):
        api.add("obama", photo)
    api.add("biden", "fr_biden.jpg")
    assert _names(api, "fr_obama-1080p.jpg", prediction_count=3) == ["obama"] * 3
    assert _names(api, "fr_obama-1080p.jpg", prediction_count=3, aggregate="subject") == [
        "obama",
        "biden",
    ]
    assert _names(api, "fr_obama-1080p.jpg", prediction_count=-1, aggregate="Subject") == [
        "obama",
        "biden",
    ]
    assert _names(api, "fr_biden.jpg", prediction_count=1, aggregate="subject") == ["biden"]
    assert _names(api, "fr_obama-1080p.jpg", prediction_count=3, aggregate="example") == (
        ["obama"] * 3
    )
    both = _names(api, "fr_biden.jpg", prediction_count=-1, aggregate="subject", min_similarity=0.5)
    assert both == ["biden"]
    bad = api.recognize("fr_obama.jpg", aggregate="person")
    assert bad.status_code == 400 and bad.json()["code"] == 26


def test_embeddings_recognize_with_both(api: Api) -> None:
    for photo in ("fr_obama.jpg", "fr_obama2.jpg"):
        api.add("obama", photo)
    api.add("biden", "fr_biden.jpg")
    face = api.recognize("fr_obama3.jpg", face_plugins="calculator").json()["result"][0]
    body = {"embeddings": [face["embedding"]]}
    params = {"prediction_count": 5, "aggregate": "subject"}
    response = api.request("POST", EMBEDDINGS, params=params, json=body)
    assert response.status_code == 200, response.text
    similarities = response.json()["result"][0]["similarities"]
    assert [m["subject"] for m in similarities] == ["obama", "biden"]
    params["min_similarity"] = 0.5
    response = api.request("POST", EMBEDDINGS, params=params, json=body)
    assert [m["subject"] for m in response.json()["result"][0]["similarities"]] == ["obama"]


def _verify_subject(api: Api, subject: str, photo: str, **params: object) -> tuple[int, dict]:  # type: ignore[type-arg]
    response = api.request(
        "POST",
        f"{subject_path(subject)}/verify",
        params=params,
        files={"file": (photo, api.photo(photo), "image/jpeg")},
    )
    return response.status_code, response.json()


def test_verify_against_a_subject_takes_its_best_example(api: Api) -> None:
    best = api.add("Obama", "fr_obama.jpg").json()["image_id"]
    api.add("biden", "fr_biden.jpg")
    status, body = _verify_subject(api, "obama", "fr_obama2.jpg", face_plugins="age")
    assert status == 200, body
    [face] = body["result"]
    assert (face["subject"], face["image_id"]) == ("Obama", best)
    assert face["similarity"] > 0.9
    assert set(face) == {"box", "age", "subject", "similarity", "image_id"}
    status, body = _verify_subject(api, "biden", "fr_two_people.jpg")
    assert [face["similarity"] > 0.9 for face in body["result"]] == [False, True]
    encoded = base64.b64encode(api.photo("fr_biden.jpg")).decode()
    response = api.request(
        "POST", "/api/v1/recognition/subjects/Obama/verify", json={"file": encoded}
    )
    assert response.status_code == 200 and response.json()["result"][0]["similarity"] < 0.5


def test_verify_against_an_unknown_or_empty_subject(api: Api) -> None:
    status, body = _verify_subject(api, "nobody", "fr_obama.jpg")
    assert (status, body["code"]) == (404, 42)
    api.request("POST", "/api/v1/recognition/subjects", json={"subject": "new"})
    status, body = _verify_subject(api, "new", "fr_obama.jpg")
    assert status == 409 and "no face example" in body["message"]
