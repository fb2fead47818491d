"""Fixtures for the HTTP API tests: a live uvicorn server on the real engine, three services.

A test module uses them with `pytest_plugins = ["api_fixtures"]` and `from api_fixtures import Api`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from facegate import face_services
from facegate.app import create_app
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory
from facegate.db.tables import Service
from ports import free_port


class LiveServer:
    """uvicorn serving `app` in a background thread of this process."""

    def __init__(self, app: Any, port: int | None = None) -> None:
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


@contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on a server's database, from the test's side."""
    engine = create_db_engine(settings)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def create_service(settings: Settings, kind: str, name: str | None = None) -> str:
    """Create a service of `kind` in the default application; returns its API key."""
    with database(settings) as sessions, sessions() as s, s.begin():
        app = face_services.default_application(s)
        return face_services.create_service(s, app=app, name=name or kind, type=kind).api_key


@dataclass
class Api:
    """A live server with a recognition, a detection and a verification service."""

    url: str
    settings: Settings
    keys: dict[str, str]
    faces: Path
    engine: Any  # the FaceEngine the server runs
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.url, timeout=120)

    def headers(self, kind: str = "recognition") -> dict[str, str]:
        return {"x-api-key": self.keys[kind]}

    def photo(self, name: str) -> bytes:
        return (self.faces / name).read_bytes()

    def request(
        self, method: str, path: str, kind: str = "recognition", **kw: Any
    ) -> httpx.Response:
        headers = self.headers(kind) | kw.pop("headers", {})
        return self.client.request(method, path, headers=headers, **kw)

    def add(self, subject: str, photo: str, **params: Any) -> httpx.Response:
        """POST /recognition/faces with a multipart photo."""
        return self.request(
            "POST",
            "/api/v1/recognition/faces",
            params={"subject": subject, **params},
            files={"file": (photo, self.photo(photo), "image/jpeg")},
        )

    def recognize(self, photo: str, **params: Any) -> httpx.Response:
        return self.request(
            "POST",
            "/api/v1/recognition/recognize",
            params=params,
            files={"file": (photo, self.photo(photo), "image/jpeg")},
        )

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session on the server's database, from the test's side, in a transaction."""
        with database(self.settings) as sessions, sessions() as s, s.begin():
            yield s

    def service(self, s: Session, kind: str = "recognition") -> Service:
        """This API's service of `kind`, in a session of the test's own."""
        service = face_services.service_by_key(s, api_key=self.keys[kind], type=kind)
        assert service is not None
        return service

    def subjects(self) -> list[str]:
        response = self.request("GET", "/api/v1/recognition/subjects")
        assert response.status_code == 200, response.text
        names: list[str] = response.json()["subjects"]
        return names

    def examples(self) -> list[dict[str, str]]:
        response = self.request("GET", "/api/v1/recognition/faces", params={"size": 2000})
        assert response.status_code == 200, response.text
        faces: list[dict[str, str]] = response.json()["faces"]
        return faces


@contextmanager
def running_api(
    settings: Settings, engine: Any, faces_dir: Path, keys: dict[str, str] | None = None
) -> Iterator[Api]:
    """A server for `settings`: with one new service of each type, or the services of `keys`
    (a server started again on the same database)."""
    with LiveServer(create_app(settings, engine=engine)) as server:
        if keys is None:
            keys = {kind: create_service(settings, kind) for kind in face_services.SERVICE_TYPES}
        api = Api(server.url, settings, keys, faces_dir, engine)
        try:
            yield api
        finally:
            api.client.close()


@pytest.fixture
def api(settings: Settings, model_engine: Any, faces_dir: Path) -> Iterator[Api]:
    """A live server on the test's database and the real engine of each model set (the
    ArcFace set on SQLite only: conftest.pytest_collection_modifyitems)."""
    with running_api(settings, model_engine, faces_dir) as api:
        yield api
