"""Detection's shapes and errors: in-process, fake engine, both databases."""

from __future__ import annotations

from tests.support.clients import Api

DETECT = "/api/v1/detection/detect"


def test_detect_needs_a_detection_key(api: Api) -> None:
    response = api.request(
        "POST",
        DETECT,
        "recognition",
        files={"file": ("a.jpg", api.photo("fr_obama.jpg"), "image/jpeg")},
    )
    assert response.status_code == 404
    key = api.keys["recognition"]
    assert response.json() == {
        "message": f"Detection service with API Key {key} not found",
        "code": 10,
    }
