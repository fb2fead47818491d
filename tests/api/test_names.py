"""The one rule for subject names end to end (decisions.md D11): every name it allows is reachable
over real HTTP through every endpoint, URL-encoded characters included."""

from __future__ import annotations

from tests.support.clients import Api, ok, subject_path

SUBJECTS = "/api/v1/recognition/subjects"
FACES = "/api/v1/recognition/faces"
# Characters a URL must encode in a path or a query (`%`, `+`, `#`, `?`, `&`, `=`, space,
# non-ASCII), all allowed in a name.
NAMES = ["Zoë O'Brien", "José", "100% sure", "a+b", "#1 fan?", "x&y=z", "İstanbul"]


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
        assert ok(api.request("PUT", subject_path(name), json={"subject": renamed})) == {
            "updated": True
        }
        assert [face["subject"] for face in _faces_of(api, renamed)] == [renamed]
    half = len(NAMES) // 2
    for name in NAMES[:half]:
        deleted = ok(api.request("DELETE", FACES, params={"subject": f"{name} (new)"}))
        assert deleted == {"deleted": 1}
    for name in NAMES[half:]:
        # Found case-insensitively, answered with the stored name.
        url = subject_path(f"{name} (NEW)".upper())
        assert ok(api.request("DELETE", url)) == {"subject": f"{name} (new)"}
    assert api.subjects() == []
    assert api.examples() == []
