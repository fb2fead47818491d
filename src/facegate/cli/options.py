"""Options and helpers shared by the `facegate` commands."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated

import typer

from facegate.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

DataDirOption = Annotated[
    str | None, typer.Option(help="Data directory (default: FACEGATE_DATA_DIR or ./data).")
]


ModelOption = Annotated[
    str | None,
    typer.Option(help="Model set: dlib, insightface-s or insightface:<name> (FACEGATE_MODEL)."),
]


def settings_from(data_dir: str | None, model: str | None = None) -> Settings:
    """Settings from the environment, with the options given on the command line on top."""
    given = {"data_dir": data_dir, "model": model}
    # model_validate, not the constructor: mypy sees every field as a required argument there.
    return Settings.model_validate({k: v for k, v in given.items() if v is not None})


def public_database_url(settings: Settings) -> str:
    """The database URL in use, its password hidden."""
    from sqlalchemy.engine import make_url

    return make_url(settings.resolved_database_url).render_as_string(hide_password=True)


@contextmanager
def database(data_dir: str | None) -> Iterator[Session]:
    """A transaction on the database `serve` would use, migrated first; errors exit with 1."""
    from facegate.db.session import create_db_engine, session_factory, upgrade
    from facegate.errors import FacegateError

    settings = settings_from(data_dir)
    engine = create_db_engine(settings)
    try:
        upgrade(engine)
        with session_factory(engine).begin() as session:
            yield session
    except FacegateError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from None
    finally:
        engine.dispose()
