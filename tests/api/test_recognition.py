"""Recognition over real HTTP: the acceptance test on ../shared/faces, and the parameters.

As CompreFace 1.2 answers it: decisions.md C1.4.
"""

from __future__ import annotations

import io
from typing import Any

from PIL import Image

from tests.support import png
from tests.support.clients import Api

RECOGNIZE = "/api/v1/recognition/recognize"


def _enrol_one_photo_per_person(api: Api, manifest: list[dict[str, Any]]) -> set[str]:
    """Add the first single-face photo of each person; returns the files used."""
    people: dict[str, str] = {}
    for image in manifest:
        if image["faces"] == 1 and len(image["people"]) == 1:
            people.setdefault(image["people"][0], image["file"])
    for person, photo in people.items():
        assert api.add(person, photo).status_code == 201
    return set(people.values())


def test_every_other_photo_of_a_known_person_is_recognised(
    api: Api, manifest: list[dict[str, Any]]
) -> None:
    enrolled = _enrol_one_photo_per_person(api, manifest)
    checked = 0
    for image in manifest:
        if image["file"] in enrolled or not image["people"]:
            continue
        response = api.recognize(image["file"], prediction_count=1)
        assert response.status_code == 200, (image["file"], response.text)
        best = {
            face["subjects"][0]["subject"]: face["subjects"][0]["similarity"]
            for face in response.json()["result"]
            if face["subjects"] and face["subjects"][0]["similarity"] >= 0.5
        }
        for person in image["people"]:
            assert person in best, (image["file"], person, response.json())
            checked += 1
    assert checked >= 15


def test_unknown_faces_score_below_half(api: Api, manifest: list[dict[str, Any]]) -> None:
    _enrol_one_photo_per_person(api, manifest)
    response = api.recognize("fp_multiface.jpg", prediction_count=-1)
    faces = response.json()["result"]
    assert len(faces) >= 5
    known = len({person for image in manifest for person in image["people"]})
    for face in faces:
        # prediction_count=-1 returns every stored example (decisions.md D4).
        assert len(face["subjects"]) == known
        assert all(match["similarity"] < 0.5 for match in face["subjects"])


def test_plugins_status_and_embedding(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    body = api.recognize(
        "fr_obama2.jpg", face_plugins="age,gender,landmarks,pose,calculator", status="true"
    ).json()
    face = body["result"][0]
    assert isinstance(face["age"], list) and len(face["age"]) == 2
    assert face["gender"] in ("male", "female")
    assert len(face["landmarks"]) == 5
    assert set(face["pose"]) == {"pitch", "roll", "yaw"}
    assert len(face["embedding"]) == api.engine.dimensions
    assert body["plugins_versions"]["calculator"] == api.engine.calculator_id
    # CompreFace's ExecutionTimeDto and PluginsVersionsDto have no `landmarks` key.
    slugs = {"detector", "age", "gender", "pose", "calculator"}
    assert set(face["execution_time"]) == set(body["plugins_versions"]) == slugs


def test_limit_keeps_the_largest_faces(api: Api) -> None:
    everyone = api.recognize("fp_multiface.jpg").json()["result"]
    two = api.recognize("fp_multiface.jpg", limit=2).json()["result"]
    assert len(two) == 2 < len(everyone)
    assert [face["box"] for face in two] == [face["box"] for face in everyone[:2]]


def test_detect_faces_false_takes_the_whole_image_as_the_face(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    api.add("biden", "fr_biden.jpg")
    box = api.recognize("fr_obama2.jpg").json()["result"][0]["box"]
    photo = Image.open(io.BytesIO(api.photo("fr_obama2.jpg")))
    crop = photo.crop((box["x_min"], box["y_min"], box["x_max"], box["y_max"]))
    # Spring's lenient booleans: `off` is false too.
    for value in ("false", "off"):
        response = api.request(
            "POST",
            RECOGNIZE,
            params={"detect_faces": value},
            files={"file": ("crop.png", png(crop), "image/png")},
        )
        assert response.status_code == 200, response.text
        [face] = response.json()["result"]
        assert face["box"] == {
            "probability": 1.0,
            "x_max": crop.width - 1,
            "y_max": crop.height - 1,
            "x_min": 0,
            "y_min": 0,
        }
        assert face["subjects"][0]["subject"] == "obama"
        assert face["subjects"][0]["similarity"] >= 0.5


def test_recognize_embeddings(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    api.add("biden", "fr_biden.jpg")
    embedding = api.recognize("fr_obama2.jpg", face_plugins="calculator").json()["result"][0][
        "embedding"
    ]
    response = api.request(
        "POST",
        "/api/v1/recognition/embeddings/recognize",
        params={"prediction_count": 2},
        json={"embeddings": [embedding]},
    )
    result = response.json()["result"]
    assert result[0]["embedding"] == embedding
    assert [m["subject"] for m in result[0]["similarities"]] == ["obama", "biden"]
    empty = api.request("POST", "/api/v1/recognition/embeddings/recognize", json={})
    assert empty.json() == {"message": "Field embeddings cannot be empty", "code": 5}


def test_many_concurrent_requests_all_succeed(api: Api) -> None:
    """More requests than the DB pool holds, all queued for inference at once: none may fail."""
    from concurrent.futures import ThreadPoolExecutor

    api.add("obama", "fr_obama.jpg")
    with ThreadPoolExecutor(max_workers=24) as pool:
        responses = list(pool.map(lambda _: api.recognize("fr_obama_small.jpg"), range(24)))
    assert [r.status_code for r in responses] == [200] * 24
    assert {r.json()["result"][0]["subjects"][0]["subject"] for r in responses} == {"obama"}
