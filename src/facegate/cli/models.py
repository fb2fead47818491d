"""`facegate models ...` and `facegate migrate`: model files, choosing and switching models."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from facegate.cli.options import DataDirOption, ModelOption, database, settings_from
from facegate.collection.model_compare import Prediction
from facegate.engine.options import EngineOptions

models_app = typer.Typer(
    no_args_is_help=True, help="Model sets: convert, compare and calibrate them."
)


@models_app.command("build")
def models_build(
    data_dir: DataDirOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Convert again even if the file is current.")
    ] = False,
) -> None:
    """Convert dlib's face network, and the mask classifier when its extra is installed, to
    ONNX into <data_dir>/models (reused when current)."""
    from facegate.engine.convert.dlib.model_file import build_model_file
    from facegate.engine.convert.mask.model_file import build_model_file as build_mask_file
    from facegate.errors import ModelUnavailable

    options = EngineOptions.from_settings(settings_from(data_dir))
    path = build_model_file(options, force=force)
    typer.echo(f"{path} ({path.stat().st_size} bytes)")
    try:
        path = build_mask_file(options, force=force)
    except ModelUnavailable as exc:
        typer.echo(f"mask: skipped ({exc})")
    else:
        typer.echo(f"{path} ({path.stat().st_size} bytes)")


@models_app.command("compare")
def models_compare(
    to: Annotated[str, typer.Option("--to", help="The model set to compare with.")],
    data_dir: DataDirOption = None,
    model: ModelOption = None,
) -> None:
    """What switching to another model set would change, per recognition service.

    Leave-one-out on the stored examples: each example's photo is matched against the others,
    under the current model and under --to; right means its own subject (or no match at 0.5
    when it is the subject's only example). Lists the examples where the two models disagree.
    """
    from facegate import face_services
    from facegate.collection import model_compare
    from facegate.engine.face_engine import FaceEngine

    settings = settings_from(data_dir, model)
    current = FaceEngine.from_settings(settings)
    other = FaceEngine.create(
        EngineOptions.from_settings(settings.model_copy(update={"model": to}))
    )
    with database(data_dir) as s:
        services = [
            summary.service
            for summary in face_services.list_services(s)
            if summary.service.type == "recognition"
        ]
        collections = [
            (
                f"{service.application.name}/{service.name}",
                list(model_compare.stored_examples(s, service)),
            )
            for service in services
        ]
    for name, examples in collections:
        result = model_compare.compare_service(name, examples, current, other)
        total = len(result.outcomes)
        typer.echo(f"{name}: {total} examples compared, {result.without_photo} left out")
        for label, which in ((current.model, "current"), (other.model, "other")):
            right = result.right(which)
            share = f" ({right / total:.1%})" if total else ""
            typer.echo(f"  {label}: {right}/{total} recognised right{share}")
        for outcome in result.disagreements():
            typer.echo(
                f"  {outcome.example.id} ({outcome.example.subject}): "
                f"{current.model} says {_said(outcome.current)}, "
                f"{other.model} says {_said(outcome.other)}"
            )


def _said(prediction: Prediction) -> str:
    return f"{prediction.subject or 'no match'} ({prediction.similarity:.3f})"


@models_app.command("calibrate")
def models_calibrate(
    folders: Annotated[
        list[Path],
        typer.Argument(help="Folders of photos with labels.csv (file,identity).", file_okay=False),
    ],
    data_dir: DataDirOption = None,
    model: ModelOption = None,
    write: Annotated[
        bool, typer.Option("--write", help="Save the fit as the pack's facegate.json.")
    ] = False,
) -> None:
    """Fit the model's similarity scale on every pair of the labelled photos (0.5 where 1 in
    1,000 different-person pairs score as much) and print the error rates and the similarity
    per false-accept rate, under the scale in use and under the fit."""
    from facegate.engine import calibration, model_sets
    from facegate.engine.face_engine import FaceEngine

    settings = settings_from(data_dir, model)
    engine = FaceEngine.from_settings(settings)
    labelled = calibration.Labelled({}, {})
    for folder in folders:
        labelled += calibration.read_folder(engine, folder)
    distances = labelled.distances()
    try:
        fitted = distances.fit()
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    names = ", ".join(str(folder) for folder in folders)
    typer.echo(f"{engine.model} now:\n{distances.report(engine.scale)}")
    typer.echo(f"fitted on {names}:\n{distances.report(fitted)}")
    if not write:
        return
    if not settings.model.startswith(model_sets.PACK_PREFIX):
        typer.echo("--write applies to model packs (insightface:<name>) only", err=True)
        raise typer.Exit(1)
    pack = model_sets.pack_folder(
        settings.data_dir, settings.model.removeprefix(model_sets.PACK_PREFIX)
    )
    target = pack / model_sets.PACK_SETTINGS
    values = {"c0": fitted.c0, "c1": fitted.c1, "det_prob_threshold": engine.det_prob_threshold}
    target.write_text(json.dumps(values, indent=2) + "\n")
    typer.echo(f"written {target}")


@models_app.command("retire")
def models_retire(
    data_dir: DataDirOption = None,
    model: ModelOption = None,
    force: Annotated[
        bool, typer.Option("--force", help="Even when a running server still uses them.")
    ] = False,
) -> None:
    """Delete the embeddings of every model but the current one, once `facegate migrate` has
    embedded every example with it and no running server searches with the others."""
    from facegate.collection import reads, servers, store
    from facegate.engine.face_engine import FaceEngine

    settings = settings_from(data_dir, model)
    engine = FaceEngine.from_settings(settings)
    calculator = engine.calculator_id
    with database(data_dir) as s:
        coverage = reads.coverage(s)
        missing = coverage.examples - coverage.by_model.get(calculator, 0)
        if missing:
            typer.echo(
                f"{missing} examples have no embedding by {engine.model} yet: run "
                "`facegate migrate` first; nothing was deleted",
                err=True,
            )
            raise typer.Exit(1)
        retired = sorted(set(coverage.by_model) - {calculator})
        users = [server for server in servers.running(s) if server.calculator in retired]
        if users and not force:
            names = ", ".join(f"{server.process} ({server.model})" for server in users)
            typer.echo(
                f"running servers still search with these embeddings: {names}; restart them "
                "on the new model first (or use --force); nothing was deleted",
                err=True,
            )
            raise typer.Exit(1)
        for old in retired:
            count = store.drop_embeddings(s, calculator=old)
            typer.echo(f"deleted {count} embeddings of {old}")
    if not retired:
        typer.echo(f"only {engine.model}'s embeddings are stored: nothing to retire")


def migrate(data_dir: DataDirOption = None, model: ModelOption = None) -> None:
    """Embed every stored example with the current model set (after changing FACEGATE_MODEL),
    beside its other models' embeddings: servers on either model keep answering throughout;
    `facegate models retire` deletes the old ones afterwards.

    One example per transaction: interrupt it (Ctrl-C, a kill) at any point and run it again
    to resume; no example is lost or duplicated. Refused when examples to embed have no
    stored photo (save_images_to_db=false).
    """
    import time

    from facegate.admin import audit
    from facegate.collection import reembed
    from facegate.db.session import create_db_engine, session_factory, upgrade
    from facegate.engine.face_engine import FaceEngine
    from facegate.errors import FacegateError
    from facegate.inference import Inference

    settings = settings_from(data_dir, model)
    database = create_db_engine(settings)
    upgrade(database)
    sessions = session_factory(database)
    engine = FaceEngine.from_settings(settings)
    try:
        with sessions() as s, s.begin():
            reembed.start(s, calculator=engine.calculator_id)
            actor = audit.Actor(None, "command line", None)
            audit.record(s, audit.MIGRATION_STARTED, actor=actor, calculator=engine.calculator_id)
    except FacegateError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from None
    shown = 0.0

    def progress(done: int, total: int) -> None:
        nonlocal shown
        if done == total or time.monotonic() - shown >= 1:
            shown = time.monotonic()
            typer.echo(f"re-embedded {done}/{total}", err=True)

    try:
        outcome = reembed.migrate(sessions, Inference(engine, 1), progress)
    except KeyboardInterrupt:
        typer.echo("interrupted: run `facegate migrate` again to resume", err=True)
        raise typer.Exit(130) from None
    finally:
        database.dispose()
    typer.echo(f"{outcome.reembedded} examples re-embedded with {engine.model}")
    for example_id in outcome.skipped:
        typer.echo(f"kept the old embedding of {example_id}: no face found by {engine.model}")
