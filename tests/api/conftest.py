"""Fixtures of the face API tests: a seeded live server that must end as it started."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.clients import Api, running_api


@pytest.fixture
def hostile_api(settings: Any, face_engine: Any, faces_dir: Path) -> Iterator[Api]:
    """A live server on each database (one model set: hostile input never reaches a model's
    own code) holding one subject with one example; after the test the stored data must be as
    it was and the server still healthy."""
    with running_api(settings, face_engine, faces_dir) as api:
        assert api.add("obama", "fr_obama_small.jpg").status_code == 201
        before = api.snapshot()
        yield api
        assert api.snapshot() == before
        assert api.client.get("/healthz").status_code == 200
