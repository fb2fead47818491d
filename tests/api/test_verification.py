"""Verification service (decisions.md C1.7) over real HTTP."""

from __future__ import annotations

import base64

from tests.support.clients import Api

VERIFY = "/api/v1/verification/verify"


def test_verify_same_and_different_people(api: Api) -> None:
    response = api.verify("fr_obama.jpg", "fr_two_people.jpg")
    assert response.status_code == 200, response.text
    result = response.json()["result"]
    assert len(result) == 1
    item = result[0]
    assert set(item) == {"source_image_face", "face_matches"}
    similarities = [match["similarity"] for match in item["face_matches"]]
    assert len(similarities) == 2
    assert max(similarities) >= 0.5 > min(similarities)


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
