"""Fuzzing the face API over HTTP (issue 13): arbitrary JSON bodies, query strings and subject
names never get a 5xx, always CompreFace's error body when refused, and change no stored data
(`hostile_api` compares the collection before and after), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from urllib.parse import quote

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from facegate import names
from tests.support.clients import SUBJECTS, Api

# Bounded so that both tests take well under a minute per database on the real engine.
JSON_EXAMPLES = 150
QUERY_EXAMPLES = 100
NAME_EXAMPLES = 150
FACES = "/api/v1/recognition/faces"
FUZZ = settings(
    deadline=None,
    # One server per test serves every example; it is compared before and after, not reset.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# Endpoints reading a JSON body, with the service type of their key; `{id}` is the stored example.
JSON_ENDPOINTS = [
    ("/api/v1/recognition/embeddings/recognize", "recognition"),
    ("/api/v1/recognition/embeddings/faces/{id}/verify", "recognition"),
    ("/api/v1/verification/embeddings/verify", "verification"),
    ("/api/v1/recognition/faces/delete", "recognition"),
    ("/api/v1/recognition/recognize", "recognition"),
    ("/api/v1/detection/detect", "detection"),
    ("/api/v1/verification/verify", "verification"),
    ("/api/v1/recognition/faces/{id}/verify", "recognition"),
]
# Fields the endpoints above read, so that arbitrary values reach their checks.
FIELDS = ["embeddings", "source", "targets", "file", "source_image", "target_image"]

_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=10**300, max_value=10**400)
    | st.floats()  # NaN and infinities included: json.dumps writes them as NaN, Infinity
    | st.text(max_size=20)
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)
_bodies = st.one_of(
    _json.map(lambda value: json.dumps(value).encode()),
    st.dictionaries(st.sampled_from(FIELDS), _json).map(lambda d: json.dumps(d).encode()),
    st.integers(1, 5000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.binary(max_size=200),
)


def _refused_properly(response: httpx.Response) -> None:
    """No 5xx; a refusal has CompreFace's body."""
    assert response.status_code < 500, (response.status_code, response.text)
    if response.status_code >= 400:
        body = response.json()
        assert set(body) == {"message", "code"}, body
        assert isinstance(body["message"], str) and body["message"]
        assert isinstance(body["code"], int)


@settings(FUZZ, max_examples=JSON_EXAMPLES)
@given(endpoint=st.sampled_from(JSON_ENDPOINTS), body=_bodies)
def test_arbitrary_json_bodies(hostile_api: Api, endpoint: tuple[str, str], body: bytes) -> None:
    path, kind = endpoint
    image_id = hostile_api.examples()[0]["image_id"]
    response = hostile_api.request(
        "POST",
        path.replace("{id}", image_id),
        kind,
        content=body,
        headers={"content-type": "application/json"},
    )
    _refused_properly(response)


_numbers = st.one_of(
    st.integers().map(str),
    st.integers(min_value=2**31 - 2, max_value=10**30).map(str),
    st.floats().map(str),
)
_values = st.one_of(_numbers, st.text(max_size=12))
_parameters = st.lists(
    st.tuples(
        st.sampled_from(
            [
                "page",
                "size",
                "limit",
                "prediction_count",
                "det_prob_threshold",
                "face_plugins",
                "status",
                "detect_faces",
            ]
        )
        | st.text(max_size=6),
        _values,
    )
    | st.tuples(st.just("subject"), st.text(max_size=12)),
    max_size=5,
)


@settings(FUZZ, max_examples=QUERY_EXAMPLES)
@given(params=_parameters)
def test_arbitrary_query_strings(hostile_api: Api, params: list[tuple[str, str]]) -> None:
    api = hostile_api
    listed = api.request("GET", "/api/v1/recognition/faces", params=params)
    _refused_properly(listed)
    photo = {"file": ("a.jpg", api.photo("fr_obama_small.jpg"), "image/jpeg")}
    recognized = api.request("POST", "/api/v1/recognition/recognize", params=params, files=photo)
    _refused_properly(recognized)


# Any text, lone surrogates and NUL included, and the characters names may not hold; never the
# stored subject's own name, nor `.` and `..`, which a URL client drops from the path (so
# `DELETE /subjects/.` deletes the whole collection): deleting those would be a legitimate change.
_names = st.one_of(
    st.text(max_size=60),
    st.text(st.sampled_from(";/\\\x00 %+#?&=\ud800\udfffé"), max_size=8),
    st.text(min_size=45, max_size=300),
).filter(lambda name: name.strip().lower() != "obama" and name not in names.DOT_SEGMENTS)


def _encoded(name: str) -> str:
    """`name` as percent-encoded UTF-8 bytes, a lone surrogate too (as a careless client sends)."""
    return quote(name.encode("utf-8", "surrogatepass"), safe="")


def _path_of(name: str) -> str:
    return f"{SUBJECTS}/{_encoded(name)}"


def _named(api: Api, method: str, path: str, name: str) -> httpx.Response:
    """`{"subject": name}` as JSON, a lone surrogate escaped as JSON writes it (`\\ud800`)."""
    body = json.dumps({"subject": name}).encode()
    return api.request(method, path, content=body, headers={"content-type": "application/json"})


@settings(FUZZ, max_examples=NAME_EXAMPLES)
@given(name=_names)
def test_arbitrary_subject_names(hostile_api: Api, name: str) -> None:
    """Created and then deleted by name, or refused on every path; the stored subject renamed
    to it and back, or refused. (A blank name in a DELETE means "all": CompreFace's
    `DELETE /subjects` and `DELETE /faces` without a subject; those stay out.)"""
    api = hostile_api
    # The name as the server reads it from JSON: escaped surrogate pairs join into one character.
    name = json.loads(json.dumps(name))
    created = _named(api, "POST", SUBJECTS, name)
    _refused_properly(created)
    if created.status_code == 201:
        assert api.request("DELETE", _path_of(name)).status_code == 200
    elif name.strip():
        _refused_properly(api.request("DELETE", _path_of(name)))
    renamed = _named(api, "PUT", _path_of("obama"), name)
    _refused_properly(renamed)
    if renamed.status_code == 200:
        back = _named(api, "PUT", _path_of(name), "obama")
        assert back.status_code == 200, back.text
    for method in ("GET", "DELETE") if name.strip() else ("GET",):
        _refused_properly(api.request(method, f"{FACES}?subject={_encoded(name)}"))
