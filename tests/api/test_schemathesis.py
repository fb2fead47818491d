"""schemathesis over the whole face API from its own OpenAPI description (issue 10), against a
live server on the real engine, on SQLite and PostgreSQL.

For every operation of `/openapi.json` under `/api/v1`, schemathesis generates requests that
fit the description (positive) and requests that break it (negative), sent with the right
service's key so that they reach the endpoint's own checks. Each answer must be no 5xx, of a
status and content type the description lists, of the body schema it documents (the codes of
each refusal included), and a refusal must be CompreFace's `{"message": str, "code": int}`.

Stored data: the service holds one subject with one example. A refused request (4xx) must
leave the subjects and examples exactly as they were. An accepted write may change them
(`DELETE /recognition/subjects` deletes every subject, as documented); the collection is then
put back as seeded, so that the next request again meets the same data.

Not checked: schemathesis's `positive_data_acceptance` (a generated "image" is random bytes,
rightly refused) and `negative_data_rejection` (facegate reads parameters as tolerantly as
CompreFace's Spring does, `status=yes` or `limit=` included: docs/api.md).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.support.clients import Api, running_api

pytestmark = pytest.mark.slow

# Per operation and generation mode: 2 x 15 requests for each of the 34 operations, about 1,000
# requests per database, so that the whole run stays around two minutes per database.
EXAMPLES = 15
SEED = ("obama", "fr_obama_small.jpg")


def error_body(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every refusal is CompreFace's error body."""
    if response.status_code >= 400:
        body = response.json()
        assert isinstance(body.get("message"), str) and body["message"], body
        assert isinstance(body.get("code"), int) and not isinstance(body["code"], bool), body
    return None


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    error_body,
]


@pytest.fixture
def seeded_api(settings: Any, face_engine: Any, faces_dir: Path) -> Iterator[Api]:
    with running_api(settings, face_engine, faces_dir) as api:
        _seed(api)
        yield api
        assert api.client.get("/healthz").status_code == 200


def _seed(api: Api) -> None:
    assert api.add(*SEED).status_code == 201


def _restore(api: Api) -> None:
    """The collection as seeded: one subject, one example (a new id)."""
    assert api.request("DELETE", "/api/v1/recognition/subjects").status_code == 200
    _seed(api)


def _key_of(operation: Any) -> str | None:
    """The service type of the operation's security scheme (`recognition_key`...)."""
    requirements = operation.definition.raw.get("security", [])
    return next(iter(requirements[0]))[: -len("_key")] if requirements else None


class Explorer:
    """Sends generated requests to `api`, checks each answer and the stored data after it."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.baseline = api.snapshot()
        self.calls = 0

    def explore(self, operation: Any, mode: GenerationMode) -> None:
        kind = _key_of(operation)
        headers = {} if kind is None else self.api.headers(kind)

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            response = case.call(base_url=self.api.url, headers=headers, timeout=120)
            self.calls += 1
            case.validate_response(response, checks=CHECKS)
            after = self.api.snapshot()
            if response.status_code >= 400:
                assert after == self.baseline, (case.method, case.path, response.text)
            elif after != self.baseline:
                _restore(self.api)
                self.baseline = self.api.snapshot()

        try:
            run()
        except BaseException as failure:
            failure.add_note(f"{operation.label}, {mode.value} requests")
            raise


def _modes(operation: Any) -> list[GenerationMode]:
    """Positive requests, and negative ones where there is something to break: a body or a
    query parameter (any text is a valid path part)."""
    raw = operation.definition.raw
    queried = any(p["in"] == "query" for p in raw.get("parameters", []))
    breakable = queried or "requestBody" in raw
    return [GenerationMode.POSITIVE] + [GenerationMode.NEGATIVE] * breakable


def test_the_face_api_holds_to_its_description(seeded_api: Api) -> None:
    document = seeded_api.client.get("/openapi.json").json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [
        result.ok()
        for result in schema.get_all_operations()
        if result.ok().path.startswith("/api/v1")
    ]
    # CompreFace's 22, facegate's verification against a subject (decisions.md D19), its
    # four unknown-faces endpoints (D26), its burst recognition (D40), the gallery check and
    # setting aside and restoring (D65) and the three of rejections (D66).
    assert len(operations) == 34
    explorer = Explorer(seeded_api)
    started = time.monotonic()
    for operation in operations:
        for mode in _modes(operation):
            explorer.explore(operation, mode)
    # Printed for the record (pytest -s): the example count and the run's duration.
    print(f"schemathesis: {explorer.calls} requests in {time.monotonic() - started:.1f} s")
    assert explorer.calls >= len(operations)
