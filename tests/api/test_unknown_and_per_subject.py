"""facegate's recognition extensions on the real engine (decisions.md D19): strangers come back
unknown at the service's threshold, `aggregate=subject` lists each person once, and a photo
verified against a whole subject."""

from __future__ import annotations

from typing import Any

from facegate import face_services
from tests.support.clients import Api, subject_path

ENROLLED = {
    "obama": "fr_obama.jpg",
    "biden": "fr_biden.jpg",
    "alex_lacamoire": "knn_train_alex_lacamoire_img1.jpg",
}


def _subjects(api: Api, photo: str, **params: Any) -> list[list[str]]:
    response = api.recognize(photo, **params)
    assert response.status_code == 200, response.text
    return [[m["subject"] for m in face["subjects"]] for face in response.json()["result"]]


def test_known_people_recognised_strangers_unknown(
    api: Api, manifest: list[dict[str, Any]]
) -> None:
    for person, photo in ENROLLED.items():
        assert api.add(person, photo).status_code == 201
    with api.session() as s:
        face_services.change_settings(s, service=api.service(s), similarity_threshold=0.5)
    known = [
        image
        for image in manifest
        if image["faces"] == 1
        and image["people"] in ([p] for p in ENROLLED)
        and image["file"] not in ENROLLED.values()
    ]
    strangers = [
        image
        for image in manifest
        if image["people"] and not set(image["people"]) & ENROLLED.keys()
    ]
    assert len(known) >= 8 and len(strangers) >= 6
    for image in known:
        assert _subjects(api, image["file"]) == [image["people"]], image["file"]
    for image in strangers:
        found = _subjects(api, image["file"])
        assert found and all(subjects == [] for subjects in found), image["file"]
        # The request's own threshold wins: 0 gives CompreFace's nearest example back.
        assert all(len(s) == 1 for s in _subjects(api, image["file"], min_similarity=0))
    # Each person once, however many examples: prediction_count counts people.
    assert api.add("obama", "fr_obama2.jpg").status_code == 201
    everyone = _subjects(
        api, "fr_obama3.jpg", prediction_count=-1, aggregate="subject", min_similarity=0
    )
    assert everyone[0][0] == "obama" and sorted(everyone[0]) == sorted(ENROLLED)
    examples = _subjects(api, "fr_obama3.jpg", prediction_count=2, min_similarity=0)
    assert examples == [["obama", "obama"]]


def test_verify_against_a_subject(api: Api) -> None:
    for person, photo in ENROLLED.items():
        assert api.add(person, photo).status_code == 201
    url = f"{subject_path('obama')}/verify"
    files = {"file": ("fr_obama2.jpg", api.photo("fr_obama2.jpg"), "image/jpeg")}
    [same] = api.request("POST", url, files=files).json()["result"]
    files = {"file": ("fr_biden.jpg", api.photo("fr_biden.jpg"), "image/jpeg")}
    [other] = api.request("POST", url, files=files).json()["result"]
    assert same["subject"] == "obama" and same["similarity"] > 0.5 > other["similarity"]
