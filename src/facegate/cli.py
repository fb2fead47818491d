"""The `facegate` command: thin commands over the same factories the server uses."""

from __future__ import annotations

import typer

from facegate.config import Settings

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


def main() -> None:
    app()
