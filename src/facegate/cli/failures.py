"""What the `facegate` command prints when it cannot do its work: one line naming the cause and
the fix, and an exit status per kind of cause, never a traceback (docs/decisions.md D55)."""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum

import typer
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError

from facegate.errors import FacegateError, ModelUnavailable


class Exit(IntEnum):
    """The exit statuses of `facegate` (docs/configuration.md, "Exit statuses")."""

    OK = 0
    # The command ran and failed on what it was given (an image, a file, a name), or
    # `facegate doctor` found something to fix.
    FAILED = 1
    # A FACEGATE_* setting or a command line option is not valid (click's usage errors are 2).
    CONFIGURATION = 2
    # The database cannot be reached or used.
    DATABASE = 3
    # A model, the package that carries it, or ONNX Runtime is missing or unusable.
    MODEL = 4
    INTERRUPTED = 130


def configuration_message(error: ValidationError) -> str:
    """The settings' refusal as one line, naming each variable: `FACEGATE_MODEL='foo': ...`."""
    parts = []
    for item in error.errors():
        reason = item["msg"].removeprefix("Value error, ")
        if item["loc"]:
            name = "FACEGATE_" + "_".join(str(part) for part in item["loc"]).upper()
            parts.append(f"{name}={item['input']!r}: {reason}")
        else:
            parts.append(reason)
    return "bad setting: " + "; ".join(parts) + " (docs/configuration.md)"


def database_message(error: DBAPIError) -> str:
    """The driver's complaint on one line (psycopg's spans several)."""
    cause = " ".join(str(error.orig).split()) if error.orig is not None else str(error)
    return (
        f"the database cannot be used: {cause} (FACEGATE_DATABASE_URL or FACEGATE_DATA_DIR; "
        "`facegate doctor` checks it)"
    )


def explain(error: BaseException) -> tuple[str, Exit] | None:
    """The line and exit status for an error a user can fix; None for a bug (a traceback)."""
    if isinstance(error, ValidationError) and error.title == "Settings":
        return configuration_message(error), Exit.CONFIGURATION
    if isinstance(error, DBAPIError):
        return database_message(error), Exit.DATABASE
    if isinstance(error, ModelUnavailable):
        return error.message, Exit.MODEL
    if isinstance(error, FacegateError):
        return error.message, Exit.FAILED
    return None


def run(command: Callable[[], object]) -> None:
    """Run the command line; an error a user can fix ends it with one line on stderr."""
    try:
        command()
    except KeyboardInterrupt:
        raise typer.Exit(Exit.INTERRUPTED) from None
    except Exception as error:
        explained = explain(error)
        if explained is None:
            raise
        message, status = explained
        typer.echo(f"facegate: {message}", err=True)
        raise SystemExit(status) from None
