"""The `facegate` command: thin commands over the same factories the server uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from facegate.config import Settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _settings(data_dir: str | None = None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


models_app = typer.Typer(no_args_is_help=True, help="Manage the converted model files.")
app.add_typer(models_app, name="models")


@models_app.command("build")
def models_build(
    data_dir: str | None = typer.Option(None, help="Data directory (default: FACEGATE_DATA_DIR)."),
    force: bool = typer.Option(False, "--force", help="Convert again even if the file is current."),
) -> None:
    """Convert dlib's face network to ONNX into <data_dir>/models (reused when current)."""
    from facegate.engine.onnx_embedder import build_model_file

    path = build_model_file(_settings(data_dir), force=force)
    typer.echo(f"{path} ({path.stat().st_size} bytes)")


# --- database and face services: what a server needs before any account exists ------------------

db_app = typer.Typer(no_args_is_help=True, help="Manage the database schema.")
app.add_typer(db_app, name="db")
services_app = typer.Typer(no_args_is_help=True, help="Create and list face services.")
app.add_typer(services_app, name="services")
DataDirOption = Annotated[
    str | None, typer.Option(help="Data directory (default: FACEGATE_DATA_DIR or ./data).")
]


class ServiceType(StrEnum):
    recognition = "recognition"
    detection = "detection"
    verification = "verification"


@contextmanager
def _database(data_dir: str | None) -> Iterator[Session]:
    """A transaction on the database `serve` would use, migrated first; errors exit with 1."""
    from facegate.db.session import create_db_engine, session_factory, upgrade
    from facegate.errors import FacegateError

    settings = _settings(data_dir)
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


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Apply pending migrations (`serve` does this too when it starts)."""
    from sqlalchemy.engine import make_url

    from facegate.db.session import upgrade

    settings = _settings(data_dir)
    upgrade(settings)
    url = make_url(settings.resolved_database_url).render_as_string(hide_password=True)
    typer.echo(f"Database is up to date: {url}")


@services_app.command("create")
def services_create(
    type: Annotated[ServiceType, typer.Option("--type", help="The kind of face service.")],
    name: Annotated[str, typer.Option("--name", help="Service name, unique in its application.")],
    app_name: Annotated[
        str | None, typer.Option("--app", help="Application (created if new; default one if none).")
    ] = None,
    data_dir: DataDirOption = None,
) -> None:
    """Create a face service and print its API key, alone, on stdout."""
    from facegate import store
    from facegate.applications import clean_name

    with _database(data_dir) as s:
        if app_name is None:
            application = store.default_application(s)
        else:
            app_name = clean_name(app_name, kind="Application")
            application = store.find_application(s, name=app_name) or store.create_application(
                s, name=app_name
            )
        service = store.create_service(
            s, app=application, name=clean_name(name, kind="Model"), type=type.value
        )
        api_key = service.api_key
    typer.echo(api_key)


@services_app.command("list")
def services_list(data_dir: DataDirOption = None) -> None:
    """Show every face service: application, name, type, API key, subject and example counts."""
    from facegate import store

    with _database(data_dir) as s:
        rows = [
            (
                summary.service.application.name,
                summary.service.name,
                summary.service.type,
                summary.service.api_key,
                str(summary.subject_count),
                str(summary.example_count),
            )
            for summary in store.list_services(s)
        ]
    header = ("APPLICATION", "NAME", "TYPE", "API KEY", "SUBJECTS", "EXAMPLES")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


def main() -> None:
    app()
