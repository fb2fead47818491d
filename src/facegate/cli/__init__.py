"""The `facegate` command: thin commands over the same factories the server uses."""

from __future__ import annotations

import json
import os
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from facegate.cli import failures
from facegate.cli.backup import backup, restore
from facegate.cli.bursts import recognize_burst
from facegate.cli.doctor import doctor
from facegate.cli.gallery_check import gallery_check
from facegate.cli.models import migrate, models_app
from facegate.cli.options import (
    DataDirOption,
    ModelOption,
    database,
    public_database_url,
    settings_from,
)
from facegate.cli.transfer import export_command, import_command
from facegate.config import Settings
from facegate.metrics import MULTIPROCESS_DIR

# Seconds a `--workers` process may go without answering uvicorn's liveness ping (D79).
WORKER_HEALTHCHECK_S = 120

app = typer.Typer(add_completion=False, help=__doc__)
app.add_typer(models_app, name="models")
app.command()(migrate)
app.command("import")(import_command)
app.command("export")(export_command)
app.command("recognize-burst")(recognize_burst)
app.command("gallery-check")(gallery_check)
app.command()(doctor)


@app.callback(invoke_without_command=True)
def default(ctx: typer.Context) -> None:
    """Without a command, `facegate` serves (as `facegate serve`)."""
    if ctx.invoked_subcommand is None:
        serve()


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    data_dir: DataDirOption = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Server processes (each loads the models).")
    ] = 1,
    model: ModelOption = None,
) -> None:
    """Serve the CompreFace-compatible API and the web UI."""
    import uvicorn

    from facegate.app import create_app, server_options
    from facegate.cli.serving import banner, cap_malloc_arenas, release_freed_memory, share_cores
    from facegate.db.session import upgrade
    from facegate.engine.face_engine import FaceEngine

    cap_malloc_arenas()  # before ONNX Runtime's and uvicorn's threads
    settings = share_cores(settings_from(data_dir, model), workers)
    # Loaded before uvicorn starts, so a missing model is one line and exit status 4 (as every
    # command's), not a traceback from the application's start-up (docs/decisions.md D55), and
    # before the database is created.
    engine = FaceEngine.from_settings(settings)
    upgrade(settings)  # once here, so worker processes do not race to create the schema
    if settings.search_backend == "pgvector":
        _require_pgvector(settings)
    typer.echo(banner(settings, host=host, port=port, workers=workers))
    if workers == 1:
        app = create_app(settings, engine=engine)
        uvicorn.run(app, host=host, port=port, **server_options(settings))
        return
    del engine  # each worker loads its own
    release_freed_memory()
    # Each worker builds its own app (models, database pool, index) from the same environment;
    # the options given here are the only settings it could not read there itself.
    os.environ["FACEGATE_DATA_DIR"] = str(settings.data_dir)
    os.environ["FACEGATE_MODEL"] = settings.model
    os.environ["FACEGATE_MAX_CONCURRENT_INFERENCES"] = str(settings.max_concurrent_inferences)
    # A fresh directory for this run's metrics, which every worker's prometheus_client reads at
    # import (workers are spawned, so they import after this): /metrics adds up every worker's,
    # and a restart starts from zero, as a single process does (decisions.md D18).
    with tempfile.TemporaryDirectory(prefix="facegate-metrics-") as metrics_dir:
        os.environ[MULTIPROCESS_DIR] = metrics_dir
        uvicorn.run(
            "facegate.app:from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            # uvicorn kills a worker that misses its 5 s ping; one loading the models (dlib's
            # deserialisation holds the GIL) on a busy machine missed it and was restarted
            # without end (docs/decisions.md D79).
            timeout_worker_healthcheck=WORKER_HEALTHCHECK_S,
            **server_options(settings),
        )


def _require_pgvector(settings: Settings) -> None:
    """One line and exit code 2, not a traceback per worker, when pgvector cannot run."""
    from facegate.collection import pgvector
    from facegate.db.session import create_db_engine
    from facegate.errors import SearchBackendUnavailable

    database = create_db_engine(settings)
    try:
        with database.connect() as connection:
            pgvector.check(connection)
    except SearchBackendUnavailable as error:
        typer.echo(f"facegate: {error.message}", err=True)
        raise typer.Exit(2) from None
    finally:
        database.dispose()


# --- database and face services: what a server needs before any account exists ------------------

db_app = typer.Typer(no_args_is_help=True, help="Manage the database: schema, backups.")
app.add_typer(db_app, name="db")
db_app.command("backup")(backup)
db_app.command("restore")(restore)
services_app = typer.Typer(no_args_is_help=True, help="Create and list face services.")
app.add_typer(services_app, name="services")


class ResponseFormatChoice(StrEnum):
    """The settings' ResponseFormat as a choice typer can offer."""

    seed = "seed"
    compreface = "compreface-1.2"


class ServiceType(StrEnum):
    recognition = "recognition"
    detection = "detection"
    verification = "verification"


@db_app.command("upgrade")
def db_upgrade(data_dir: DataDirOption = None) -> None:
    """Apply pending migrations (`serve` does this too when it starts)."""
    from facegate.db.session import upgrade

    settings = settings_from(data_dir)
    upgrade(settings)
    typer.echo(f"Database is up to date: {public_database_url(settings)}")


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
    from facegate import face_services

    with database(data_dir) as s:
        application = face_services.application_named(s, name=app_name)
        service = face_services.create_service(s, app=application, name=name, type=type.value)
        api_key = service.api_key
    typer.echo(api_key)


@services_app.command("list")
def services_list(data_dir: DataDirOption = None) -> None:
    """Show every face service: application, name, type, API key, subject and example counts."""
    from facegate import face_services

    with database(data_dir) as s:
        rows = [
            (
                summary.service.application.name,
                summary.service.name,
                summary.service.type,
                summary.service.api_key,
                str(summary.subject_count),
                str(summary.example_count),
            )
            for summary in face_services.list_services(s)
        ]
    header = ("APPLICATION", "NAME", "TYPE", "API KEY", "SUBJECTS", "EXAMPLES")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        typer.echo("  ".join(cells).rstrip())


# --- faces: the engine on image files ----------------------------------------------------------


@app.command()
def detect(
    images: Annotated[list[Path], typer.Argument(help="Image files.", exists=True, dir_okay=False)],
    plugins: Annotated[
        str, typer.Option(help="Comma-separated face plugins: age,gender,pose,landmarks,...")
    ] = "",
    det_prob_threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Drop faces scoring at or below this.")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="Keep the N largest faces (0: all).")] = 0,
    status: Annotated[
        bool, typer.Option(help="Include execution_time and plugins_versions.")
    ] = False,
    response_format: Annotated[
        ResponseFormatChoice | None,
        typer.Option(help="Shape of age and gender (default: the response_format setting)."),
    ] = None,
    data_dir: DataDirOption = None,
    model: ModelOption = None,
) -> None:
    """Print the JSON of POST /api/v1/detection/detect for each image.

    One image prints its body; several print an object keyed by file name. An image that
    cannot be read gets CompreFace's {"message", "code"} body and the exit status 1.
    """
    from facegate.api.render import detection_body
    from facegate.engine import plugins as face_plugins
    from facegate.engine.face_engine import FaceEngine
    from facegate.errors import FacegateError
    from facegate.inference import FaceQuery, Image, Inference

    settings = settings_from(data_dir, model)
    engine = FaceEngine.from_settings(settings)
    inference = Inference(engine, 1, max_file_size=settings.max_file_size)
    query = FaceQuery(
        limit=limit,
        det_prob_threshold=det_prob_threshold,
        plugins=face_plugins.parse(plugins),
        status=status,
    )
    bodies: dict[str, object] = {}
    failed = False
    for path in images:
        try:
            # As POST /detect: no embedding unless the calculator plugin asks for it.
            analysis = inference.faces(Image(path.read_bytes(), path.name), query, embed=False)
        except FacegateError as error:
            bodies[str(path)] = error.body()
            failed = True
            continue
        shape = settings.response_format if response_format is None else response_format.value
        bodies[str(path)] = detection_body(analysis, query, shape)
    output = bodies if len(images) > 1 else next(iter(bodies.values()))
    typer.echo(json.dumps(output, indent=2))
    if failed:
        raise typer.Exit(1)


@app.command()
def compare(
    image_a: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    image_b: Annotated[Path, typer.Argument(exists=True, dir_okay=False)],
    data_dir: DataDirOption = None,
    model: ModelOption = None,
) -> None:
    """Print the similarity (0..1; 0.5 and above: the same person) of the largest faces."""
    from facegate.engine.face_engine import FaceEngine
    from facegate.engine.faces import FaceRequest
    from facegate.errors import FacegateError

    engine = FaceEngine.from_settings(settings_from(data_dir, model))
    largest = FaceRequest(limit=1)
    embeddings = []
    for path in (image_a, image_b):
        try:
            faces = engine.analyze(path.read_bytes(), largest).faces
        except FacegateError as error:
            typer.echo(f"{path}: {error.message}", err=True)
            raise typer.Exit(1) from None
        if not faces or faces[0].embedding is None:
            typer.echo(f"{path}: No face is found in the given image", err=True)
            raise typer.Exit(1)
        embeddings.append(faces[0].embedding)
    typer.echo(f"{engine.scale.similarity(embeddings[0], embeddings[1]):.5f}")


def main() -> None:
    failures.run(app)
