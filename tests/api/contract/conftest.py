"""The API contract tests: shapes, parameters, error codes and storage of the face API, on the
app in-process with a fake engine (tests/support/fake_engine.py) on both databases, and on
PostgreSQL with the pgvector search backend.

Here `api` is `in_process_api`, no uvicorn and no models, so these tests take milliseconds.
What the models answer is tested end to end by the tests one folder up, on the real engine
of every model set, each endpoint at least once (docs/architecture.md "Tests").
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from facegate.config import Settings
from tests.support.clients import Api, in_process_api
from tests.support.databases import DATABASES, PGVECTOR, fresh_database
from tests.support.fake_engine import FakeEngine


@pytest.fixture(params=[*DATABASES, PGVECTOR])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The contract holds on every database and on the pgvector search backend too."""
    return fresh_database(request, tmp_path)


@pytest.fixture(scope="session")
def fake_engine(faces_dir: Path) -> FakeEngine:
    return FakeEngine(faces_dir)


@pytest.fixture
def api(settings: Settings, fake_engine: FakeEngine, faces_dir: Path) -> Iterator[Api]:
    with in_process_api(settings, fake_engine, faces_dir) as api:
        yield api
