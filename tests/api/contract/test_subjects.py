"""Subjects endpoints (decisions.md C1.2): in-process, fake engine, both databases."""

from __future__ import annotations

from tests.support.clients import Api

SUBJECTS = "/api/v1/recognition/subjects"


def test_create_list_and_duplicate(api: Api) -> None:
    created = api.request("POST", SUBJECTS, json={"subject": "Alice"})
    assert created.status_code == 201
    assert created.json() == {"subject": "Alice"}
    # Names are compared case-insensitively.
    again = api.request("POST", SUBJECTS, json={"subject": "alice"})
    assert again.status_code == 400
    assert again.json() == {"message": "Subject already exists", "code": 43}
    assert api.subjects() == ["Alice"]


def test_rename_and_merge(api: Api) -> None:
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    assert api.add("barack", "fr_obama2.jpg").status_code == 201
    renamed = api.request("PUT", f"{SUBJECTS}/obama", json={"subject": "Obama"})
    assert renamed.json() == {"updated": True}
    # Renaming to an existing subject merges the two: every example moves to "Obama".
    merged = api.request("PUT", f"{SUBJECTS}/barack", json={"subject": "Obama"})
    assert merged.json() == {"updated": True}
    assert api.subjects() == ["Obama"]
    assert sorted(face["subject"] for face in api.examples()) == ["Obama", "Obama"]
    best = api.recognize("fr_obama3.jpg").json()["result"][0]["subjects"][0]
    assert best["subject"] == "Obama"
    same = api.request("PUT", f"{SUBJECTS}/Obama", json={"subject": "Obama"})
    assert same.json() == {"updated": False}


def test_rename_unknown_subject(api: Api) -> None:
    response = api.request("PUT", f"{SUBJECTS}/nobody", json={"subject": "somebody"})
    assert response.status_code == 404
    assert response.json() == {"message": "Subject nobody not found", "code": 42}


def test_delete_subject_returns_stored_name(api: Api) -> None:
    assert api.add("Obama", "fr_obama.jpg").status_code == 201
    response = api.request("DELETE", f"{SUBJECTS}/obama")
    assert response.json() == {"subject": "Obama"}
    assert api.subjects() == []
    assert api.examples() == []
    assert api.recognize("fr_obama2.jpg").json()["result"][0]["subjects"] == []
    missing = api.request("DELETE", f"{SUBJECTS}/obama")
    assert missing.status_code == 404
    assert missing.json() == {"message": "Subject obama not found", "code": 42}


def test_delete_all_subjects_counts_subjects(api: Api) -> None:
    api.request("POST", SUBJECTS, json={"subject": "empty"})
    assert api.add("obama", "fr_obama.jpg").status_code == 201
    assert api.add("obama", "fr_obama2.jpg").status_code == 201
    response = api.request("DELETE", SUBJECTS)
    assert response.json() == {"deleted": 2}
    assert api.subjects() == []
    assert api.examples() == []
