"""The one rule for subject names (decisions.md D11): every path that creates a subject applies
it, and a name it refuses is found nowhere. In-process, fake engine, both databases."""

from __future__ import annotations

import pytest

from tests.support.clients import Api, ok, refused, subject_path

SUBJECTS = "/api/v1/recognition/subjects"

FACES = "/api/v1/recognition/faces"

NAMES = ["Zoë O'Brien", "José", "100% sure", "a+b", "#1 fan?", "x&y=z", "İstanbul"]


@pytest.mark.parametrize(
    ("name", "code", "message"),
    [
        ("a/b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("a;b", 36, "The name cannot contain the following special characters: ';', '/', '\\'"),
        ("x" * 51, 26, "Subject name size must be between 1 and 50"),
        ("a\0b", 26, "Subject name cannot contain control characters or unpaired surrogates"),
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
    message = "Subject name cannot contain control characters or unpaired surrogates"
    created = api.request("POST", SUBJECTS, content=body, headers=headers)
    assert refused(created, 400, 26) == message
    ok(api.request("POST", SUBJECTS, json={"subject": "Ann"}), 201)
    renamed = api.request("PUT", f"{SUBJECTS}/Ann", content=body, headers=headers)
    assert refused(renamed, 400, 26) == message
    assert api.subjects() == ["Ann"]


# "/" and "//": an encoded slash at the end is no trailing slash; were it one, the URL would
# be DELETE /subjects, which deletes every subject (found by tests/api/test_fuzz.py).
@pytest.mark.parametrize("name", ["a/b", "a\\b", "a\0b", "x" * 51, "/", "a//", "Ann\n", "a\nb"])
def test_a_name_breaking_the_rule_is_found_nowhere(api: Api, name: str) -> None:
    """Not found, as any absent name; the encoded `/` reaches the handler too."""
    ok(api.request("POST", SUBJECTS, json={"subject": "Ann"}), 201)
    expected = {"message": f"Subject {name} not found", "code": 42}
    deleted = api.request("DELETE", subject_path(name))
    assert (deleted.status_code, deleted.json()) == (404, expected)
    renamed = api.request("PUT", subject_path(name), json={"subject": "Bob"})
    assert (renamed.status_code, renamed.json()) == (404, expected)
    assert ok(api.request("DELETE", FACES, params={"subject": name})) == {"deleted": 0}
    listed = ok(api.request("GET", FACES, params={"subject": name}))
    assert (listed["faces"], listed["total_elements"]) == ([], 0)
    assert api.subjects() == ["Ann"]
