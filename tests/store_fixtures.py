"""Fixtures for the data-access tests: a session in a transaction, and a recognition service.

A test module uses them with `pytest_plugins = ["store_fixtures"]`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from facegate import face_services
from facegate.db.session import session_factory
from facegate.db.tables import Service


@pytest.fixture
def s(db_engine: Engine) -> Iterator[Session]:
    with session_factory(db_engine)() as session, session.begin():
        yield session


@pytest.fixture
def service(s: Session) -> Service:
    app = face_services.default_application(s)
    return face_services.create_service(s, app=app, name="faces", type="recognition")
