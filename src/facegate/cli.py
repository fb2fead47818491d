"""The `facegate` command: thin commands over the same factories the server uses."""

from __future__ import annotations

import typer

from facegate.config import Settings

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)


def _settings(data_dir: str | None = None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir else Settings()


def main() -> None:
    app()
