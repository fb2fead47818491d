"""Face example endpoints (decisions.md C1.3, C1.5): in-process, fake engine, both databases."""

from __future__ import annotations

import base64

import pytest

from tests.support.clients import Api, in_process_api

FACES = "/api/v1/recognition/faces"


def test_add_multipart_and_base64(api: Api) -> None:
    added = api.add("obama", "fr_obama.jpg")
    assert added.status_code == 201
    assert set(added.json()) == {"image_id", "subject"}
    assert added.json()["subject"] == "obama"
    encoded = base64.b64encode(api.photo("fr_obama2.jpg")).decode()
    as_json = api.request("POST", FACES, params={"subject": "obama"}, json={"file": encoded})
    assert as_json.status_code == 201, as_json.text
    # Adding an example creates its subject on the way.
    assert api.subjects() == ["obama"]
    assert {face["image_id"] for face in api.examples()} == {
        added.json()["image_id"],
        as_json.json()["image_id"],
    }


def test_add_refuses_two_faces_and_no_face(api: Api) -> None:
    two = api.add("pair", "fr_two_people.jpg")
    assert two.status_code == 400
    assert two.json() == {"message": "More than one face in the source image", "code": 31}
    # A threshold nothing passes leaves no face: CompreFace's code 28.
    none = api.add("nobody", "fr_obama.jpg", det_prob_threshold=1)
    assert none.status_code == 400
    assert none.json() == {"message": "No face is found in the given image", "code": 28}
    assert api.subjects() == []


def test_list_pages_and_subject_filter(api: Api) -> None:
    for photo in ("fr_obama.jpg", "fr_obama2.jpg", "fr_obama3.jpg"):
        assert api.add("obama", photo).status_code == 201
    added = api.add("biden", "fr_biden.jpg")
    assert added.status_code == 201
    page = api.request("GET", FACES, params={"page": 1, "size": 3}).json()
    assert page["total_elements"] == 4
    assert page["total_pages"] == 2
    assert page["page_number"] == 1
    assert page["page_size"] == 3
    assert len(page["faces"]) == 1
    biden = api.request("GET", FACES, params={"subject": "biden"}).json()
    # CompreFace's fields, and facegate's mark of an example set aside (decisions.md D80).
    assert biden["faces"] == [added.json() | {"set_aside": False}]
    api.request("PUT", f"{FACES}/{added.json()['image_id']}/set-aside")
    [listed] = api.request("GET", FACES, params={"subject": "biden"}).json()["faces"]
    assert listed["set_aside"] is True
    assert biden["page_size"] == 20
    # The subject filter is exact and case-sensitive (CompreFace).
    assert api.request("GET", FACES, params={"subject": "Biden"}).json()["faces"] == []


def test_delete_by_id_and_bulk(api: Api) -> None:
    ids = [api.add("obama", p).json()["image_id"] for p in ("fr_obama.jpg", "fr_obama2.jpg")]
    biden = api.add("biden", "fr_biden.jpg").json()["image_id"]
    one = api.request("DELETE", f"{FACES}/{ids[0]}")
    assert one.json() == {"image_id": ids[0], "subject": "obama"}
    again = api.request("DELETE", f"{FACES}/{ids[0]}")
    assert again.status_code == 404
    assert again.json() == {"message": f"Image {ids[0]} not found", "code": 44}
    bulk = api.request("POST", f"{FACES}/delete", json=[ids[1], biden, "not-an-id"])
    assert sorted(bulk.json(), key=lambda f: f["subject"]) == [
        {"image_id": biden, "subject": "biden"},
        {"image_id": ids[1], "subject": "obama"},
    ]
    assert api.examples() == []
    # Deleting examples by id keeps their subjects (CompreFace).
    assert sorted(api.subjects()) == ["biden", "obama"]


def test_delete_by_subject_and_all(api: Api) -> None:
    api.add("obama", "fr_obama.jpg")
    api.add("obama", "fr_obama2.jpg")
    api.add("biden", "fr_biden.jpg")
    assert api.request("DELETE", FACES, params={"subject": "obama"}).json() == {"deleted": 2}
    assert api.subjects() == ["biden"]  # the subject goes too
    assert api.request("DELETE", FACES, params={"subject": "nobody"}).json() == {"deleted": 0}
    # Without a subject every example goes (decisions.md D2).
    assert api.request("DELETE", FACES).json() == {"deleted": 1}
    assert api.examples() == []


def test_download_image(api: Api) -> None:
    image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
    response = api.request("GET", f"{FACES}/{image_id}/img")
    assert response.status_code == 200
    assert response.content == api.photo("fr_obama.jpg")
    assert response.headers["cache-control"] == "public, max-age=31536000"
    static = api.client.get(f"/api/v1/static/{api.keys['recognition']}/images/{image_id}")
    assert static.content == api.photo("fr_obama.jpg")
    # Unknown ids answer 200 with an empty body, as CompreFace does.
    missing = api.request("GET", f"{FACES}/00000000-0000-0000-0000-000000000000/img")
    assert (missing.status_code, missing.content) == (200, b"")


def test_images_not_kept_when_disabled(
    make_settings: object, fake_engine: object, faces_dir: object
) -> None:

    settings = make_settings(save_images_to_db=False)  # type: ignore[operator]
    with in_process_api(settings, fake_engine, faces_dir) as api:  # type: ignore[arg-type]
        image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
        assert api.request("GET", f"{FACES}/{image_id}/img").content == b""


def test_verify_against_example(api: Api) -> None:
    image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
    response = api.request(
        "POST",
        f"{FACES}/{image_id}/verify",
        files={"file": ("two.jpg", api.photo("fr_two_people.jpg"), "image/jpeg")},
        params={"status": "true"},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    faces = body["result"]
    assert len(faces) == 2
    assert all(face["subject"] == "obama" for face in faces)
    assert max(face["similarity"] for face in faces) >= 0.5
    assert min(face["similarity"] for face in faces) < 0.5
    assert "plugins_versions" in body
    assert "execution_time" in faces[0]
    unknown = api.request(
        "POST",
        f"{FACES}/00000000-0000-0000-0000-000000000000/verify",
        files={"file": ("a.jpg", api.photo("fr_obama2.jpg"), "image/jpeg")},
    )
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "Image Id is incorrect", "code": 44}


def test_verify_embeddings_against_example(api: Api) -> None:
    image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
    detected = api.recognize("fr_obama2.jpg", face_plugins="calculator").json()
    same = detected["result"][0]["embedding"]
    other = api.recognize("fr_biden.jpg", face_plugins="calculator").json()["result"][0]
    response = api.request(
        "POST",
        f"/api/v1/recognition/embeddings/faces/{image_id}/verify",
        json={"embeddings": [other["embedding"], same]},
    )
    result = response.json()["result"]
    # Sorted by similarity, best first.
    assert [item["embedding"] for item in result] == [same, other["embedding"]]
    assert result[0]["similarity"] >= 0.5 > result[1]["similarity"]


@pytest.mark.parametrize("body", [{}, {"embeddings": []}])
def test_verify_embeddings_needs_embeddings(api: Api, body: dict[str, object]) -> None:
    image_id = api.add("obama", "fr_obama.jpg").json()["image_id"]
    response = api.request(
        "POST", f"/api/v1/recognition/embeddings/faces/{image_id}/verify", json=body
    )
    assert response.status_code == 400
    assert response.json() == {"message": "Field embeddings cannot be empty", "code": 5}
