"""Detection (decisions.md C1.6) over real HTTP."""

from __future__ import annotations

import base64

from tests.support.clients import Api

DETECT = "/api/v1/detection/detect"


def _detect(api: Api, photo: str, **params: object) -> dict[str, object]:
    response = api.request(
        "POST",
        DETECT,
        "detection",
        params=params,
        files={"file": (photo, api.photo(photo), "image/jpeg")},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_detect_counts_faces_largest_first(api: Api) -> None:
    faces = _detect(api, "fp_multiface.jpg")["result"]
    assert isinstance(faces, list) and len(faces) == 6
    areas = [
        (f["box"]["x_max"] - f["box"]["x_min"]) * (f["box"]["y_max"] - f["box"]["y_min"])
        for f in faces
    ]
    assert areas == sorted(areas, reverse=True)
    # No calculator unless asked for, and no subjects here.
    assert set(faces[0]) == {"box"}


def test_detect_plugins_and_status(api: Api) -> None:
    body = _detect(api, "fr_obama.jpg", face_plugins="landmarks,calculator", status="true")
    face = body["result"][0]  # type: ignore[index]
    assert len(face["landmarks"]) == 5
    assert len(face["embedding"]) == api.engine.dimensions
    # CompreFace's ExecutionTimeDto and PluginsVersionsDto have no `landmarks` key.
    assert set(body["plugins_versions"]) == {"detector", "calculator"}  # type: ignore[arg-type]
    assert set(face["execution_time"]) == {"detector", "calculator"}


def test_detect_base64_and_no_face(api: Api) -> None:
    encoded = base64.b64encode(api.photo("fr_biden.jpg")).decode()
    one = api.request("POST", DETECT, "detection", json={"file": encoded})
    assert len(one.json()["result"]) == 1
    none = api.request(
        "POST", DETECT, "detection", params={"det_prob_threshold": "1.0"}, json={"file": encoded}
    )
    assert none.status_code == 400
    assert none.json() == {"message": "No face is found in the given image", "code": 28}
