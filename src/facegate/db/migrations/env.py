"""Alembic environment: migrates the engine that `facegate.db.session.upgrade` hands in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine, text

from facegate.db.tables import Base

# Any constant shared by every facegate process; serialises concurrent upgrades on PostgreSQL.
ADVISORY_LOCK_KEY = 0x0FACE6A7E


def run_migrations() -> None:
    engine: Engine = context.config.attributes["engine"]
    with engine.connect() as connection:
        postgres = connection.dialect.name == "postgresql"
        if postgres:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
        try:
            context.configure(
                connection=connection,
                target_metadata=Base.metadata,
                render_as_batch=connection.dialect.name == "sqlite",
            )
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            if postgres:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY}
                )
                connection.commit()


run_migrations()
