"""Alembic environment: migrates the engine that `facegate.db.session.upgrade` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from facegate.db.tables import Base


def run_migrations() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations()
