"""The databases a test runs on (`db_url`): SQLite, PostgreSQL, and PostgreSQL with the pgvector
search backend, which a test module asks for by overriding `db_url` with PGVECTOR among its
params (the face API's contract and end-to-end tests)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

DATABASES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
PGVECTOR = pytest.param("pgvector", marks=pytest.mark.pgvector)


def fresh_database(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """URL of a fresh, empty database of `request.param`: a SQLite file in the data dir, or a
    schema of its own on the session's PostgreSQL (with pgvector)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'facegate.db'}"
    import psycopg

    pgvector = request.param == "pgvector"
    base: str = request.getfixturevalue("pgvector_database" if pgvector else "postgres_database")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(base, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    # Every connection made from this URL (servers in subprocesses too) works in that schema;
    # pgvector's types live in `public`.
    path = f"{schema}%2Cpublic" if pgvector else schema
    return f"{base}?options=-csearch_path%3D{path}"
