"""`facegate import` and `facegate export`: photos and galleries into and out of a service.

The work is the face domain's (`collection.enrol`, `collection.gallery`); this module reads the
options, shows progress and prints the summary. Refused photos are reported, not failures: the
exit status is 0 unless the command could not run (2 for a usage error, 1 otherwise).
"""

from __future__ import annotations

import csv
import os
import tarfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from facegate.cli.options import DataDirOption, ModelOption, database, settings_from
from facegate.collection import enrol

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from sqlalchemy.orm import Session

    from facegate.config import Settings
    from facegate.db.tables import Service
    from facegate.inference import Inference

ServiceOption = Annotated[
    str | None, typer.Option("--service", help="Recognition service name (local data directory).")
]
HINT = "--service"
AppOption = Annotated[
    str | None,
    typer.Option("--app", help="Application of the service, when several bear its name."),
]


def import_command(
    source: Annotated[
        Path,
        typer.Argument(
            exists=True,
            help="A folder with one folder of photos per subject, a CSV of file,subject, or a "
            "gallery .tar written by `facegate export`.",
        ),
    ],
    service: ServiceOption = None,
    app_name: AppOption = None,
    url: Annotated[
        str | None, typer.Option(help="A CompreFace-compatible server to enrol through.")
    ] = None,
    key: Annotated[str | None, typer.Option(help="That server's recognition API key.")] = None,
    journal: Annotated[
        Path | None,
        typer.Option(
            help="With --url: the file of enrolled photos' hashes (default: hidden, "
            "beside the photos)."
        ),
    ] = None,
    workers: Annotated[
        int, typer.Option(min=1, help="Photos enrolled at once (default: the CPU cores).")
    ] = os.cpu_count() or 1,
    det_prob_threshold: Annotated[
        float | None, typer.Option(min=0.0, max=1.0, help="Face detection threshold.")
    ] = None,
    report: Annotated[
        Path | None, typer.Option(help="Write every photo's outcome to this CSV file.")
    ] = None,
    largest_face: Annotated[
        bool,
        typer.Option(
            "--largest-face",
            help="Enrol the largest face of a photo whose other faces are at most half its "
            "size (people in the background); without it such photos are refused.",
        ),
    ] = False,
    data_dir: DataDirOption = None,
    model: ModelOption = None,
) -> None:
    """Enrol photos into a recognition service, skipping those already enrolled; or restore a
    gallery archive with its example ids.

    Locally (--service) through this server's database and models; with --url and --key through
    any server speaking CompreFace's API. Refused photos (no face, two faces, unreadable, too
    large) are listed, and do not make the exit status non-zero.
    """
    if (url is None) != (key is None):
        raise typer.BadParameter("--url and --key go together", param_hint="--url/--key")
    if (url is None) == (service is None):
        raise typer.BadParameter("give either --service or --url and --key", param_hint="--service")
    if largest_face and url is not None:
        # CompreFace's POST /faces has no such choice: the server would refuse those photos.
        raise typer.BadParameter("works with a local --service only", param_hint="--largest-face")
    if source.is_file() and tarfile.is_tarfile(source):
        if service is None:
            raise typer.BadParameter("a gallery imports into a local --service", param_hint="--url")
        _import_gallery(source, (service, app_name), data_dir, settings_from(data_dir, model))
        return
    photos = _photos(source)
    with ExitStack() as stack:
        if url is not None and key is not None:
            journal = journal or _default_journal(source, url, key)
            target: enrol.Target = stack.enter_context(
                _remote_target(url, key, journal, workers, det_prob_threshold)
            )
        else:
            assert service is not None  # checked above; mypy cannot follow the pairing
            settings = settings_from(data_dir, model)
            target = stack.enter_context(
                _local_target(
                    settings,
                    data_dir,
                    (service, app_name),
                    workers,
                    det_prob_threshold=det_prob_threshold,
                    largest_face=largest_face,
                )
            )
        # Timed from here: the models are loaded (or the server answered), the photos start.
        started = time.perf_counter()
        with _progress(Console(stderr=True), len(photos)) as advance:
            results = enrol.enrol_photos(photos, target, workers=workers, on_result=advance)
    _summarise(results, time.perf_counter() - started, source=source, report=report)
    if report is not None:
        _write_report(report, results)


def _photos(source: Path) -> list[enrol.PhotoFile]:
    from facegate.errors import FacegateError

    if source.is_dir():
        return enrol.photos_in_folders(source)
    try:
        return enrol.photos_in_csv(source)
    except (FacegateError, UnicodeDecodeError) as error:
        raise typer.BadParameter(str(error), param_hint="SOURCE") from None


@contextmanager
def _progress(console: Console, total: int) -> Iterator[Callable[[enrol.Result], None]]:
    columns = (*Progress.get_default_columns()[:1], BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console) as progress:
        task = progress.add_task("Enrolling", total=total)
        yield lambda _result: progress.advance(task)


def _default_journal(source: Path, url: str, key: str) -> Path:
    from facegate.cli.remote import default_journal

    return default_journal(source, url, key)


@contextmanager
def _remote_target(
    url: str, key: str, journal: Path, workers: int, det_prob_threshold: float | None
) -> Iterator[enrol.Target]:
    """The server at `url`, once it accepted the key; a server that stops answering ends the
    import with status 1 (what it acknowledged is in the journal: a re-run continues)."""
    import httpx

    from facegate.cli.remote import FACES, RemoteTarget

    limits = httpx.Limits(max_connections=workers)
    with httpx.Client(base_url=url, timeout=120, limits=limits) as client:
        try:
            probe = client.get(FACES, params={"size": 1}, headers={"x-api-key": key})
            if probe.status_code != 200:
                refusal = f"HTTP {probe.status_code} {probe.text}"
                typer.echo(f"{url} refused the key: {refusal}", err=True)
                raise typer.Exit(1)
            yield RemoteTarget(
                client, key=key, journal=journal, det_prob_threshold=det_prob_threshold
            )
        except httpx.HTTPError as error:
            typer.echo(f"{url}: {error}; run the import again to continue", err=True)
            raise typer.Exit(1) from None


@contextmanager
def _local_target(
    settings: Settings,
    data_dir: str | None,
    names: tuple[str, str | None],
    workers: int,
    *,
    det_prob_threshold: float | None,
    largest_face: bool,
) -> Iterator[enrol.LocalTarget]:
    from facegate import face_services
    from facegate.db.session import create_db_engine, session_factory

    with database(data_dir) as s:  # migrated there
        service = recognition_service(s, *names, create=True)
        service_id, quality = service.id, face_services.enrolment_quality_of(service)
    inference = _inference(settings, workers)
    engine = create_db_engine(settings)
    try:
        yield enrol.LocalTarget(
            session_factory(engine),
            inference,
            service_id=service_id,
            keep_images=settings.save_images_to_db,
            det_prob_threshold=det_prob_threshold,
            quality=quality,
            largest=largest_face,
        )
    finally:
        engine.dispose()


def _inference(settings: Settings, workers: int) -> Inference:
    from facegate.engine.face_engine import FaceEngine
    from facegate.inference import Inference

    engine = FaceEngine.from_settings(settings)
    return Inference(engine, workers, max_file_size=settings.max_file_size)


def recognition_service(s: Session, name: str, app_name: str | None, *, create: bool) -> Service:
    """The recognition service called `name` (in `app_name`, if given); created in that (or the
    default) application when none is and `create`. Several of that name: a usage error."""
    from facegate import face_services

    found = face_services.services_named(s, name=name, type="recognition", app_name=app_name)
    if len(found) == 1:
        return found[0]
    if found:
        apps = ", ".join(sorted(service.application.name for service in found))
        raise typer.BadParameter(f"{name!r} is a service of {apps}: choose one with --app")
    if not create:
        raise typer.BadParameter(
            f"no recognition service is called {name!r}", param_hint="--service"
        )
    application = face_services.application_named(s, name=app_name)
    service = face_services.create_service(s, app=application, name=name, type="recognition")
    created = f"Created recognition service {service.name!r}; its API key: {service.api_key}"
    typer.echo(created, err=True)
    return service


# Refused photos listed by name under the counts; the rest are in --report's file.
REFUSALS_SHOWN = 5


def _summarise(
    results: list[enrol.Result], seconds: float, *, source: Path, report: Path | None
) -> None:
    """The counts on one line (scripts read it), then the refusals by reason and the first few
    photos, named from the source folder, so a re-run of a large import stays readable."""
    counts = Counter(result.status for result in results)
    refused = sorted(
        (result for result in results if result.status is enrol.Status.refused),
        key=lambda result: result.photo.path,  # the same order on every run
    )
    enrolled = counts[enrol.Status.enrolled]
    pace = f", {enrolled / seconds:.1f} photos/s" if enrolled and seconds > 0 else ""
    lines = [
        f"{len(results)} photos: {enrolled} enrolled, {counts[enrol.Status.skipped]} already "
        f"enrolled, {len(refused)} refused ({seconds:.1f} s{pace})"
    ]
    if refused:
        reasons = Counter(result.reason for result in refused).most_common()
        lines.append("Refused: " + ", ".join(f"{n} {reason}" for reason, n in reasons))
        if any(result.reason == "two faces" for result in refused):
            lines.append("  (--largest-face enrols the main face of photos with people behind)")
        base = source if source.is_dir() else source.parent
        for result in refused[:REFUSALS_SHOWN]:
            lines.append(f"  {_shown(result.photo.path, base)}: {result.reason}")
        if len(refused) > REFUSALS_SHOWN:
            rest = len(refused) - REFUSALS_SHOWN
            where = f"in {report}" if report else "with --report FILE.csv"
            lines.append(f"  and {rest} more: every photo's outcome {where}")
    typer.echo("\n".join(lines))


def _shown(path: Path, base: Path) -> str:
    """`path` from the source folder when it lies under it (short), else as given."""
    return str(path.relative_to(base)) if path.is_relative_to(base) else str(path)


def _write_report(path: Path, results: list[enrol.Result]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["file", "subject", "status", "reason", "detail", "image_id"])
        for result in results:
            writer.writerow(
                [result.photo.path, result.photo.subject, result.status.value, result.reason,
                 result.detail, result.image_id]
            )  # fmt: skip


# --- galleries ----------------------------------------------------------------------------------


def _import_gallery(
    source: Path, names: tuple[str, str | None], data_dir: str | None, settings: Settings
) -> None:
    from facegate.collection import gallery
    from facegate.errors import FacegateError

    try:
        archive = gallery.read(source)
    except FacegateError as error:
        typer.echo(error.message, err=True)
        raise typer.Exit(1) from None
    inference = _inference(settings, os.cpu_count() or 1)
    embedded = gallery.embed(archive, inference)
    name = names[0]
    # One transaction: an id clash (or any failure) leaves the service as it was.
    with database(data_dir) as s:
        service = recognition_service(s, *names, create=True)
        done = gallery.restore(s, service=service, gallery=archive, embedded=embedded)
    typer.echo(
        f"Imported {done.added} examples into {name!r} ({done.reembedded} re-embedded by "
        f"{embedded.calculator}), {done.identical} already here, {len(done.skipped)} skipped"
    )
    for line in done.skipped:
        typer.echo(f"skipped {line}")


def export_command(
    service: Annotated[str, typer.Option("--service", help="Recognition service name.")],
    out: Annotated[Path, typer.Option("-o", "--out", help="The gallery .tar to write.")],
    app_name: AppOption = None,
    data_dir: DataDirOption = None,
) -> None:
    """Write a recognition service's gallery (subjects, example ids, photos, embeddings and
    their calculator, a manifest) to a tar archive, for `facegate import` on another server."""
    from facegate.collection import gallery

    settings = settings_from(data_dir)
    # Written beside `out` and renamed when complete: an interrupted export leaves no archive
    # that looks whole.
    partial = out.with_name(f".{out.name}.partial")
    with database(data_dir) as s:
        found = recognition_service(s, service, app_name, create=False)
        try:
            with partial.open("wb") as stream:
                done = gallery.export(s, service=found, out=stream, model=settings.model)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    partial.replace(out)
    typer.echo(
        f"Exported {done.subjects} subjects, {done.examples} examples ({done.photos} photos) "
        f"to {out}"
    )
