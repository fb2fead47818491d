"""Verification's shapes and errors: in-process, fake engine, both databases."""

from __future__ import annotations

from tests.support.clients import Api


def test_verify_status_puts_versions_inside_the_result(api: Api) -> None:
    body = api.verify("fr_obama.jpg", "fr_obama2.jpg", status="true").json()
    assert set(body) == {"result"}
    assert "calculator" in body["result"][0]["plugins_versions"]


def test_verify_source_with_two_faces(api: Api) -> None:
    response = api.verify("fr_two_people.jpg", "fr_obama.jpg")
    assert response.status_code == 400
    assert response.json() == {"message": "More than one face in the source image", "code": 31}
