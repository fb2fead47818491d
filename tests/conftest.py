"""Fixtures every area shares: the test photos, the two databases, the real engines, and a live
API server on them. Each area's own fixtures live in its conftest (tests/api/conftest.py...);
plain helpers the tests call live in tests/support/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

# Before anything imports tests.support: its asserts then report like a test's own.
pytest.register_assert_rewrite("tests.support")

from tests.support import FACES_DIR  # noqa: E402
from tests.support.services import required, unavailable  # noqa: E402


def pytest_configure(config: pytest.Config) -> None:
    """A misspelt FACEGATE_TEST_REQUIRE stops the run before any test (services.required)."""
    required("shared")


def _require_faces() -> Path:
    if not (FACES_DIR / "manifest.json").is_file():
        unavailable(
            "shared",
            f"Test photos not found at {FACES_DIR}: check out the project's shared/ folder "
            "(it holds faces/ with manifest.json) beside the repository, as CI does",
        )
    return FACES_DIR


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return _require_faces()


@pytest.fixture(scope="session")
def lfw_dir(faces_dir: Path) -> Path:
    """Labelled LFW photos for calibration (labels.csv, pairs.csv), beside faces/."""
    folder = faces_dir.parent / "lfw-dev"
    if not (folder / "pairs.csv").is_file():
        unavailable("shared", f"Calibration photos not found at {folder}: check out shared/")
    return folder


@pytest.fixture(scope="session")
def manifest(faces_dir: Path) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = json.loads((faces_dir / "manifest.json").read_text())["images"]
    return images


# --- databases: `db_url` (SQLite and PostgreSQL), `make_settings`, `settings`, `db_engine` ------
# Every test that takes `db_url` (directly or through the others) runs twice: on a fresh SQLite
# file and on a fresh PostgreSQL schema. Use them instead of building URLs or Settings by hand:
#   def test_x(settings): ...               # Settings with a temp data_dir and that database
#   def test_y(make_settings): make_settings(save_images_to_db=False)
#   def test_z(db_engine): ...              # the migrated SQLAlchemy engine of `settings`
#   env = {"FACEGATE_DATABASE_URL": db_url, "FACEGATE_DATA_DIR": ...}   # for subprocesses
# PostgreSQL: one database per test session (dropped at the end), one schema per test, so parallel
# runs and other engineers never collide. FACEGATE_TEST_POSTGRES_URL overrides the server URL.

import os  # noqa: E402
import uuid  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402

from tests.support.databases import DATABASES, fresh_database  # noqa: E402

POSTGRES_SERVER_URL = os.environ.get(
    "FACEGATE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_admin() -> Any:
    import psycopg

    try:
        return psycopg.connect(POSTGRES_SERVER_URL, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        unavailable(
            "postgres",
            f"PostgreSQL is not reachable at {POSTGRES_SERVER_URL} ({exc}); start it or point "
            "FACEGATE_TEST_POSTGRES_URL at one",
        )


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A PostgreSQL database of its own for this test session, as a postgresql:// URL."""
    from sqlalchemy.engine import make_url

    name = f"facegate_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with _postgres_admin() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    yield make_url(POSTGRES_SERVER_URL).set(database=name).render_as_string(hide_password=False)
    with _postgres_admin() as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def pgvector_database() -> Iterator[str]:
    """A PostgreSQL with pgvector for this test session (tests/support/pgvector.py), the
    extension created in `public`, which every test's schema has on its search path."""
    import psycopg

    from tests.support.pgvector import pgvector_server

    with pgvector_server() as url:
        with psycopg.connect(url, autocommit=True) as connection:
            connection.execute("CREATE EXTENSION vector SCHEMA public")
        yield url


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database: a SQLite file in the data dir, or a PostgreSQL schema."""
    return fresh_database(request, tmp_path)


@pytest.fixture
def make_settings(
    db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[..., Any]:
    """Build Settings on the test's database and a temp data_dir; keyword overrides allowed.
    On the `pgvector` database the search backend is pgvector."""
    from facegate.config import Settings

    params = getattr(request.node, "callspec", None)
    pgvector = params is not None and params.params.get("db_url") == "pgvector"

    def make(**overrides: Any) -> Settings:
        from tests.support import ADMIN_KEY

        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "database_url": db_url,
            "admin_key": ADMIN_KEY,
            "search_backend": "pgvector" if pgvector else "memory",
        }
        return Settings(**(values | overrides))

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Any]) -> Any:
    return make_settings()


@pytest.fixture
def db_engine(settings: Any) -> Iterator[Any]:
    """The SQLAlchemy engine of `settings`, with every migration applied."""
    from facegate.db.session import create_db_engine, upgrade

    engine = create_db_engine(settings)
    upgrade(engine)
    yield engine
    engine.dispose()


# --- engine: `face_engine` (dlib), `model_engine` (every model set), loaded once per session ----
#   def test_x(face_engine, faces_dir):
#       request = FaceRequest(plugins=frozenset({"age", "calculator"}))
#       analysis = face_engine.analyze((faces_dir / "fr_obama.jpg").read_bytes(), request)
#   def test_y(model_engine): ...           # runs once per model set in MODELS
# A test on every model set and both databases runs the ArcFace set on SQLite only: storage is
# what the second database tests, and it does not depend on the model (pytest_collection_...).

MODELS = ["dlib", "insightface-s"]


@pytest.fixture(scope="session")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """The real engine of a model set, by name, loaded at most once per test session."""
    from facegate.engine.face_engine import FaceEngine
    from tests.support import engine_options

    loaded: dict[str, Any] = {}
    data_dir = tmp_path_factory.mktemp("engine")

    def engine(model: str) -> Any:
        if model not in loaded:
            loaded[model] = FaceEngine.create(engine_options(data_dir=data_dir, model=model))
        return loaded[model]

    return engine


@pytest.fixture(scope="session")
def face_engine(engines: Callable[[str], Any]) -> Any:
    """`facegate.engine.face_engine.FaceEngine` on default settings (the dlib model set)."""
    return engines("dlib")


@pytest.fixture(scope="session", params=MODELS)
def model_engine(request: pytest.FixtureRequest, engines: Callable[[str], Any]) -> Any:
    """The engine of each model set in turn."""
    return engines(request.param)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Run tests that take both a model set and a database once per model on SQLite, and on
    PostgreSQL with the default model only."""
    keep, drop = [], []
    for item in items:
        params = getattr(item, "callspec", None)
        values = params.params if params is not None else {}
        if values.get("db_url") == "postgres" and values.get("model_engine", "dlib") != "dlib":
            drop.append(item)
        else:
            keep.append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


# --- data and servers: `s` (a session in a transaction), `service`, `api` (a live server) ------


@pytest.fixture
def s(db_engine: Any) -> Iterator[Any]:
    """A session on `db_engine` inside a transaction."""
    from facegate.db.session import session_factory

    with session_factory(db_engine)() as session, session.begin():
        yield session


@pytest.fixture
def service(s: Any) -> Any:
    """A recognition service called "faces" in the default application, in session `s`."""
    from facegate import face_services

    app = face_services.default_application(s)
    return face_services.create_service(s, app=app, name="faces", type="recognition")


@pytest.fixture
def api(settings: Any, model_engine: Any, faces_dir: Path) -> Iterator[Any]:
    """`tests.support.clients.Api`: a live server on the test's database and the real engine of
    each model set (the ArcFace set on SQLite only: pytest_collection_modifyitems)."""
    from tests.support.clients import running_api

    with running_api(settings, model_engine, faces_dir) as api:
        yield api
