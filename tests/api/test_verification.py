"""Verification service (decisions.md C1.7) over real HTTP."""

from __future__ import annotations

import base64
from typing import Any

from tests.support.clients import Api

VERIFY = "/api/v1/verification/verify"


def _verify(api: Api, source: str, target: str, **params: Any) -> Any:
    return api.request(
        "POST",
        VERIFY,
        "verification",
        params=params,
        files={
            "source_image": (source, api.photo(source), "image/jpeg"),
            "target_image": (target, api.photo(target), "image/jpeg"),
        },
    )


def test_verify_same_and_different_people(api: Api) -> None:
    response = _verify(api, "fr_obama.jpg", "fr_two_people.jpg")
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert len(result) == 1
    item = result[0]
    assert set(item) == {"source_image_face", "face_matches"}
    similarities = [match["similarity"] for match in item["face_matches"]]
    assert len(similarities) == 2
    assert max(similarities) >= 0.5 > min(similarities)


def test_verify_status_puts_versions_inside_the_result(api: Api) -> None:
    body = _verify(api, "fr_obama.jpg", "fr_obama2.jpg", status="true").json()
    assert set(body) == {"result"}
    assert "calculator" in body["result"][0]["plugins_versions"]


def test_verify_base64(api: Api) -> None:
    source = base64.b64encode(api.photo("fr_biden.jpg")).decode()
    target = base64.b64encode(api.photo("knn_train_biden_biden2.jpg")).decode()
    response = api.request(
        "POST", VERIFY, "verification", json={"source_image": source, "target_image": target}
    )
    assert response.json()["result"][0]["face_matches"][0]["similarity"] >= 0.5
    missing = api.request("POST", VERIFY, "verification", json={"source_image": source})
    assert missing.status_code == 400
    assert missing.json() == {"message": "Field targetImageBase64 cannot be empty", "code": 5}


def test_verify_source_with_two_faces(api: Api) -> None:
    response = _verify(api, "fr_two_people.jpg", "fr_obama.jpg")
    assert response.status_code == 400
    assert response.json() == {"message": "More than one face in the source image", "code": 31}


def test_verify_embeddings(api: Api) -> None:
    # Embeddings of the model's length (decisions.md C1.7).
    padding = [0.0] * (api.engine.dimensions - 3)
    source, near, far = ([x, y, 0.0, *padding] for x, y in ((1.0, 0.0), (2.0, 0.0), (0.0, 1.0)))
    response = api.request(
        "POST",
        "/api/v1/verification/embeddings/verify",
        "verification",
        json={"source": source, "targets": [far, near]},
    )
    result = response.json()["result"]
    assert [item["embedding"] for item in result] == [near, far]
    assert result[0]["similarity"] > 0.99
    empty = api.request(
        "POST", "/api/v1/verification/embeddings/verify", "verification", json={"source": [1.0]}
    )
    assert empty.json() == {"message": "Field targets cannot be empty", "code": 5}
