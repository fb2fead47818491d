"""`facegate recognize-burst`: several frames of one scene against a local recognition service,
as POST /api/v1/recognition/recognize/burst answers them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from facegate.cli.options import DataDirOption, ModelOption, settings_from
from facegate.cli.transfer import AppOption, recognition_service


def recognize_burst(
    frames: Annotated[
        list[Path], typer.Argument(help="Frames, in time order.", exists=True, dir_okay=False)
    ],
    service: Annotated[str, typer.Option("--service", help="Recognition service name.")],
    app_name: AppOption = None,
    min_similarity: Annotated[
        float | None,
        typer.Option(
            min=0.0, max=1.0, help="Threshold in force (default: the service's, else 0.5)."
        ),
    ] = None,
    prediction_count: Annotated[
        int, typer.Option(min=1, help="Subjects shown per face of each frame.")
    ] = 1,
    det_prob_threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Drop faces scoring at or below this.")
    ] = None,
    data_dir: DataDirOption = None,
    model: ModelOption = None,
) -> None:
    """Print one answer per person across the frames, with each frame's evidence (the JSON of
    POST /api/v1/recognition/recognize/burst). An unusable burst prints CompreFace's
    {"message", "code"} body and exits with 1."""
    from facegate import face_services
    from facegate.api.bursts import burst_body
    from facegate.collection import bursts, unknown
    from facegate.collection.recognition import Matching, Recognitions
    from facegate.collection.search import open_search
    from facegate.db.session import create_db_engine, session_factory, upgrade
    from facegate.engine.face_engine import FaceEngine
    from facegate.errors import FacegateError
    from facegate.inference import FaceQuery, Image, Inference

    settings = settings_from(data_dir, model)
    if len(frames) > settings.burst_max_frames:
        raise typer.BadParameter(
            f"at most {settings.burst_max_frames} frames (burst_max_frames)", param_hint="FRAMES"
        )
    database = create_db_engine(settings)
    try:
        upgrade(database)
        sessions = session_factory(database)
        with sessions.begin() as s:
            found = recognition_service(s, service, app_name, create=False)
            matching = Matching.of(
                found,
                count=prediction_count,
                per_subject=True,
                requested=min_similarity,
                unique=None,
            )
            shape = face_services.response_format_of(found, default=settings.response_format)
        engine = FaceEngine.from_settings(settings)
        inference = Inference(engine, 1, max_file_size=settings.max_file_size)
        index = open_search(
            settings.search_backend,
            sessions,
            calculator=engine.calculator_id,
            dimensions=engine.dimensions,
            scale=engine.scale,
        )
        recognitions = Recognitions(sessions, inference, index, unknown.Limits.of(settings))
        # The service's rejections, read by the server's model: known once the engine is.
        with sessions() as s:
            match = recognitions.matcher(s, found, matching)
        query = FaceQuery(det_prob_threshold=det_prob_threshold)
        try:
            burst = bursts.recognize(
                inference,
                [Image(path.read_bytes(), path.name) for path in frames],
                query=query,
                match=match,
                min_similarity=matching.min_similarity,
            )
        except FacegateError as error:
            typer.echo(json.dumps(error.body(), indent=2))
            raise typer.Exit(1) from None
        typer.echo(json.dumps(burst_body(burst, query, shape), indent=2))
    finally:
        database.dispose()
