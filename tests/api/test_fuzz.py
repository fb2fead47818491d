"""Fuzzing the face API over HTTP (issue 13): arbitrary JSON bodies and query strings never get a
5xx, always CompreFace's error body when refused, and change no stored data (`hostile_api`
compares the collection before and after), on SQLite and PostgreSQL.

Subject names (the body of POST/PUT /subjects, `subject=` carrying NUL) follow one rule that
issue 13's item 2 brings; they are left out here, except as a filter of GET /faces without NUL.
"""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support.clients import Api

# Bounded so that both tests take well under a minute per database on the real engine.
JSON_EXAMPLES = 150
QUERY_EXAMPLES = 100
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
    # A subject filter without NUL (names: item 2, see the module's docstring).
    | st.tuples(st.just("subject"), st.text(max_size=12).filter(lambda s: "\x00" not in s)),
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
