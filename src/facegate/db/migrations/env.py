"""Alembic environment: migrates the engine that `facegate.db.session.upgrade` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from facegate.db.tables import Base


def run_migrations() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # Batch mode changes a SQLite table by copying it and dropping the original: with
            # foreign keys on, dropping `services` would cascade to every subject and example.
            # SQLite ignores the pragma inside a transaction, so it is set before one begins.
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            context.configure(
                connection=connection, target_metadata=Base.metadata, render_as_batch=sqlite
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if sqlite:  # the pooled connection goes back as the engine's pragmas made it
                connection.exec_driver_sql("PRAGMA foreign_keys=ON")


run_migrations()
