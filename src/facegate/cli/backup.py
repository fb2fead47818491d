"""`facegate db backup` and `facegate db restore`: copies of the embedded SQLite database.

A backup is taken while servers run (SQLite's online backup); a restore replaces the database
and is done with the servers stopped, since each keeps its collections' embeddings in memory.
PostgreSQL has its own tools: pg_dump and pg_restore (docs/guide.md, "Import, export and backups").
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

import typer

from facegate.cli.options import DataDirOption, settings_from

POSTGRES = (
    "The database is not a SQLite file; back PostgreSQL up with its own tools, e.g. "
    'pg_dump --format=custom --file=facegate.dump "$FACEGATE_DATABASE_URL" '
    "(restore: pg_restore --clean --dbname=...)"
)


def _database_file(data_dir: str | None) -> Path:
    from facegate.db.backup import sqlite_file

    found = sqlite_file(settings_from(data_dir))
    if found is None:
        typer.echo(POSTGRES, err=True)
        raise typer.Exit(1)
    return found


def backup(
    out: Annotated[Path, typer.Argument(dir_okay=False, help="The copy to write (replaced).")],
    data_dir: DataDirOption = None,
) -> None:
    """Copy the SQLite database to OUT while servers keep using it (every write committed
    before the copy starts is in it)."""
    source = _database_file(data_dir)
    if not source.is_file():
        typer.echo(f"There is no database at {source}", err=True)
        raise typer.Exit(1)
    _copy(source, out)
    typer.echo(f"Backed up {source} to {out} ({out.stat().st_size} bytes)")


def restore(
    copy: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="A copy made by `db backup`.")
    ],
    data_dir: DataDirOption = None,
) -> None:
    """Replace the SQLite database with COPY. Stop every server using it first."""
    target = _database_file(data_dir)
    target.parent.mkdir(parents=True, exist_ok=True)
    _copy(copy, target)
    typer.echo(f"Restored {target} from {copy}")


def _copy(source: Path, target: Path) -> None:
    from facegate.db.backup import copy

    try:
        copy(source, target)
    except sqlite3.Error as error:
        typer.echo(f"Could not copy {source} to {target}: {error}", err=True)
        raise typer.Exit(1) from None
