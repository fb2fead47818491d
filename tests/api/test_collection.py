"""The collection endpoints end to end: every face, subject and utility endpoint once, over real
HTTP, on the real engine of each model set and both databases. Their shapes, parameters and
error codes are pinned in-process by tests/api/contract/."""

from __future__ import annotations

import base64

import httpx

from tests.support.clients import Api

FACES = "/api/v1/recognition/faces"
SUBJECTS = "/api/v1/recognition/subjects"


def _similarity(response: httpx.Response) -> float:
    assert response.status_code == 200, response.text
    similarity: float = response.json()["result"][0]["similarity"]
    return similarity


def test_faces_end_to_end(api: Api) -> None:
    obama = api.add("obama", "fr_obama.jpg").json()["image_id"]
    encoded = base64.b64encode(api.photo("fr_biden.jpg")).decode()
    added = api.request("POST", FACES, params={"subject": "biden"}, json={"file": encoded})
    assert added.status_code == 201, added.text
    biden = added.json()["image_id"]
    refused = api.add("pair", "fr_two_people.jpg")
    assert refused.json()["code"] == 31, refused.text
    assert {(f["image_id"], f["subject"]) for f in api.examples()} == {
        (obama, "obama"),
        (biden, "biden"),
    }

    image = api.request("GET", f"{FACES}/{obama}/img")
    assert image.content == api.photo("fr_obama.jpg")
    static = api.client.get(f"/api/v1/static/{api.keys['recognition']}/images/{obama}")
    assert static.content == image.content

    photo = {"file": ("p.jpg", api.photo("fr_obama2.jpg"), "image/jpeg")}
    assert _similarity(api.request("POST", f"{FACES}/{obama}/verify", files=photo)) > 0.5
    assert _similarity(api.request("POST", f"{FACES}/{biden}/verify", files=photo)) < 0.5
    recognized = api.recognize("fr_obama2.jpg", face_plugins="calculator").json()
    embedding = recognized["result"][0]["embedding"]
    by_embedding = api.request(
        "POST",
        f"/api/v1/recognition/embeddings/faces/{obama}/verify",
        json={"embeddings": [embedding]},
    )
    assert _similarity(by_embedding) > 0.5

    assert api.request("DELETE", f"{FACES}/{biden}").json()["image_id"] == biden
    kept = api.add("obama", "fr_obama3.jpg").json()["image_id"]
    bulk = api.request("POST", f"{FACES}/delete", json=[kept])
    assert [face["image_id"] for face in bulk.json()] == [kept]
    by_subject = api.request("DELETE", FACES, params={"subject": "obama"})
    assert by_subject.json() == {"deleted": 1}
    api.add("biden", "knn_train_biden_biden2.jpg")
    assert api.request("DELETE", FACES).json() == {"deleted": 1}
    assert api.examples() == []


def test_subjects_and_utility_end_to_end(api: Api) -> None:
    assert api.request("POST", SUBJECTS, json={"subject": "Barack"}).status_code == 201
    api.add("Barack", "fr_obama.jpg")
    renamed = api.request("PUT", f"{SUBJECTS}/Barack", json={"subject": "Barack Obama"})
    assert renamed.json() == {"updated": True}
    recognized = api.recognize("fr_obama2.jpg").json()["result"][0]["subjects"]
    assert recognized[0]["subject"] == "Barack Obama"
    assert recognized[0]["similarity"] > 0.5
    api.request("POST", SUBJECTS, json={"subject": "Joe"})
    assert api.request("DELETE", f"{SUBJECTS}/Joe").json() == {"subject": "Joe"}
    assert api.request("DELETE", SUBJECTS).json() == {"deleted": 1}
    assert api.subjects() == []

    config = api.client.get("/api/v1/config")
    assert config.status_code == 200, config.text
    status = api.request("GET", "/api/v1/consistence/status").json()
    assert status["dbIsInconsistent"] is False
