"""`facegate gallery-check`: what in a recognition service's examples may make recognition wrong,
as GET /api/v1/recognition/gallery-check answers it; examples set aside or restored first."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from facegate.cli.options import DataDirOption, ModelOption, settings_from
from facegate.cli.transfer import AppOption, recognition_service

ExampleIds = Annotated[
    list[str] | None,
    typer.Option(help="An example (image_id) to set aside or restore first; repeatable."),
]


def gallery_check(
    service: Annotated[str, typer.Option("--service", help="Recognition service name.")],
    app_name: AppOption = None,
    quality: Annotated[
        bool, typer.Option(help="Also run the quality gate on every kept photo (slow).")
    ] = False,
    set_aside: ExampleIds = None,
    restore: ExampleIds = None,
    data_dir: DataDirOption = None,
    model: ModelOption = None,
) -> None:
    """Print the check's findings as JSON: outliers, confusable subjects, duplicates, strangers,
    a threshold from the service's own pairs (docs/gallery-check.md)."""
    from facegate import face_services
    from facegate.api.gallery_check import render
    from facegate.collection import gallery_check as check
    from facegate.collection import store
    from facegate.collection.quality_gate import QualityLimits
    from facegate.db.session import create_db_engine, session_factory, upgrade
    from facegate.engine.face_engine import FaceEngine
    from facegate.engine.options import EngineOptions
    from facegate.inference import Inference

    settings = settings_from(data_dir, model)
    database = create_db_engine(settings)
    try:
        upgrade(database)
        engine = FaceEngine.create(EngineOptions.from_settings(settings))
        with session_factory(database).begin() as s:
            found = recognition_service(s, service, app_name, create=False)
            for ids, aside in ((set_aside, True), (restore, False)):
                changed = store.set_aside(s, service=found, ids=ids or [], aside=aside)
                for ref in changed:
                    verb = "set aside" if aside else "restored"
                    typer.echo(f"{verb}: {ref.image_id} ({ref.subject})", err=True)
            gallery, strangers = check.read(s, service=found, calculator=engine.calculator_id)
            report = check.check(
                gallery, strangers, scale=engine.scale, threshold=found.similarity_threshold
            )
            refused = None
            if quality:
                limits = face_services.enrolment_quality_of(found) or QualityLimits()
                inference = Inference(engine, 1, max_file_size=settings.max_file_size)
                refused = check.refused_by_gate(
                    s, gallery=gallery, inference=inference, limits=limits
                )
        typer.echo(json.dumps(render(report, refused, model=engine.calculator_id), indent=2))
    finally:
        database.dispose()
