"""The one rule for subject names over real HTTP, on SQLite and PostgreSQL (decisions.md D11):
every path that creates a subject applies it, every name it allows is reachable through every
endpoint (URL-encoded characters included), and a name it refuses is found nowhere."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from tests.support.clients import Api, ok, refused

SUBJECTS = "/api/v1/recognition/subjects"
FACES = "/api/v1/recognition/faces"
# Characters a URL must encode in a path or a query (`%`, `+`, `#`, `?`, `&`, `=`, space,
# non-ASCII), all allowed in a name.
NAMES = ["Zoë O'Brien", "José", "100% sure", "a+b", "#1 fan?", "x&y=z", "İstanbul"]


def _subject_url(name: str) -> str:
    return f"{SUBJECTS}/{quote(name, safe='')}"


def _faces_of(api: Api, name: str) -> list[dict[str, str]]:
    faces: list[dict[str, str]] = ok(api.request("GET", FACES, params={"subject": name}))["faces"]
    return faces


def test_every_endpoint_reaches_a_subject_by_its_name(api: Api) -> None:
    for name in NAMES:
        assert ok(api.request("POST", SUBJECTS, json={"subject": name}), 201) == {"subject": name}
        assert ok(api.add(name, "fr_obama.jpg"), 201)["subject"] == name
        assert [face["subject"] for face in _faces_of(api, name)] == [name]
    assert api.subjects() == NAMES
    best = ok(api.recognize("fr_obama2.jpg"))["result"][0]["subjects"][0]
    assert best["subject"] in NAMES

    for name in NAMES:
        renamed = f"{name} (new)"
        assert ok(api.request("PUT", _subject_url(name), json={"subject": renamed})) == {
            "updated": True
        }
        assert [face["subject"] for face in _faces_of(api, renamed)] == [renamed]
    half = len(NAMES) // 2
    for name in NAMES[:half]:
        deleted = ok(api.request("DELETE", FACES, params={"subject": f"{name} (new)"}))
        assert deleted == {"deleted": 1}
    for name in NAMES[half:]:
        # Found case-insensitively, answered with the stored name.
        url = _subject_url(f"{name} (NEW)".upper())
        assert ok(api.request("DELETE", url)) == {"subject": f"{name} (new)"}
    assert api.subjects() == []
    assert api.examples() == []


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("a/b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("a;b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("x" * 51, 26, "Subject name size must be between 1 and 50"),
        ("a\0b", 26, "Subject name cannot contain NUL or unpaired surrogate characters"),
        (" ", 26, "Subject name is empty; "),
    ],
)
def test_adding_an_example_applies_the_rule_of_subjects(
    api: Api, name: str, code: int, message: str
) -> None:
    """CompreFace checks names only on POST /subjects; facegate on every path."""
    assert refused(api.add(name, "fr_obama.jpg"), 400, code) == message
    # The UI sends `subject` as a multipart field: the same rule.
    as_field = api.request(
        "POST",
        FACES,
        data={"subject": name},
        files={"file": ("a.jpg", api.photo("fr_obama.jpg"), "image/jpeg")},
    )
    assert refused(as_field, 400, code) == message
    if name.strip():
        created = api.request("POST", SUBJECTS, json={"subject": name})
        assert refused(created, 400, code) == message
    assert api.subjects() == []


@pytest.mark.parametrize("escaped", ["\\ud800", "a\\udfffb", "\\u0000"])
def test_unstorable_names_in_json_are_a_400(api: Api, escaped: str) -> None:
    """JSON's escapes reach names no database can store: refused, never a 500."""
    body = f'{{"subject": "{escaped}"}}'.encode()
    headers = {"content-type": "application/json"}
    message = "Subject name cannot contain NUL or unpaired surrogate characters"
    created = api.request("POST", SUBJECTS, content=body, headers=headers)
    assert refused(created, 400, 26) == message
    ok(api.request("POST", SUBJECTS, json={"subject": "Ann"}), 201)
    renamed = api.request("PUT", f"{SUBJECTS}/Ann", content=body, headers=headers)
    assert refused(renamed, 400, 26) == message
    assert api.subjects() == ["Ann"]


@pytest.mark.parametrize("name", ["a/b", "a\\b", "a\0b", "x" * 51])
def test_a_name_breaking_the_rule_is_found_nowhere(api: Api, name: str) -> None:
    """Not found, as any absent name; the encoded `/` reaches the handler too."""
    ok(api.request("POST", SUBJECTS, json={"subject": "Ann"}), 201)
    expected = {"message": f"Subject {name} not found", "code": 42}
    deleted = api.request("DELETE", _subject_url(name))
    assert (deleted.status_code, deleted.json()) == (404, expected)
    renamed = api.request("PUT", _subject_url(name), json={"subject": "Bob"})
    assert (renamed.status_code, renamed.json()) == (404, expected)
    assert ok(api.request("DELETE", FACES, params={"subject": name})) == {"deleted": 0}
    listed = ok(api.request("GET", FACES, params={"subject": name}))
    assert (listed["faces"], listed["total_elements"]) == ([], 0)
    assert api.subjects() == ["Ann"]
