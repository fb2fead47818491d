"""`facegate doctor`: checks what a server needs, each finding on one line saying what to fix;
exit status 1 when something must be fixed (docs/decisions.md D55)."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from enum import StrEnum
from pathlib import Path
from urllib.parse import urlsplit

import typer
from sqlalchemy import Connection, Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from facegate.cli.failures import Exit, database_message
from facegate.cli.options import DataDirOption, ModelOption, public_database_url, settings_from
from facegate.config import Settings
from facegate.errors import FacegateError, ModelUnavailable, SearchBackendUnavailable

GIB = 1024**3
# Free space in the data directory under which the database and converted models are at risk.
DISK_FAIL, DISK_WARN = 100 * 1024**2, GIB
BROKER_WAIT_SECONDS = 5.0
CONNECTED = "connected"  # facegate.events.sinks.CONNECTED, without importing paho up front


class Level(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "FAIL"


@dataclass(frozen=True)
class Finding:
    level: Level
    topic: str
    text: str


def doctor(data_dir: DataDirOption = None, model: ModelOption = None) -> None:
    """Check the model files, ONNX Runtime's providers, the database (and pgvector), the MQTT
    broker, the event sinks and the disk, saying what to fix. Exit status 1 when something must
    be fixed."""
    settings = settings_from(data_dir, model)  # a bad setting: one line and exit status 2
    broker = _broker_status(settings)
    checks = (
        _settings(settings),
        _runtime(settings),
        _models(settings),
        _database(settings, broker),
        _broker(settings, broker),
        _disk(settings),
    )
    counts = dict.fromkeys(Level, 0)
    for check in checks:
        for finding in check:  # printed as found: loading the models takes seconds
            counts[finding.level] += 1
            typer.echo(f"{finding.level.value:<5} {finding.topic}: {finding.text}")
    typer.echo(f"facegate doctor: {counts[Level.FAIL]} to fix, {counts[Level.WARN]} to look at")
    if counts[Level.FAIL]:
        raise typer.Exit(Exit.FAILED)


def _settings(settings: Settings) -> Iterator[Finding]:
    yield Finding(
        Level.OK,
        "settings",
        f"data dir {settings.data_dir.resolve()}, database {public_database_url(settings)}, "
        f"model {settings.model}, search backend {settings.search_backend}",
    )


def _runtime(settings: Settings) -> Iterator[Finding]:
    try:
        from facegate.engine import runtime
    except ModelUnavailable as missing:
        yield Finding(Level.FAIL, "ONNX Runtime", missing.message)
        return
    builds = runtime.installed_builds()
    if len(builds) > 1:
        yield Finding(
            Level.FAIL,
            "ONNX Runtime",
            f"{' and '.join(builds)} are installed together and overwrite each other's files: "
            f"pip uninstall -y {' '.join(builds)}, then install one: pip install "
            "'facegate[cpu]' (or [cuda], [openvino]; docs/gpu.md)",
        )
    try:
        chosen = runtime.providers(settings.device, openvino_device=settings.openvino_device)
    except ModelUnavailable as missing:
        yield Finding(Level.FAIL, "ONNX Runtime", missing.message)
        return
    wanted = chosen[0] if isinstance(chosen[0], str) else chosen[0][0]
    running = runtime.probe(chosen)
    text = (
        f"{', '.join(builds) or 'onnxruntime'} {runtime.version()}, providers offered: "
        f"{', '.join(runtime.available_providers())}; sessions run on "
        f"{', '.join(running) or 'nothing'} (FACEGATE_DEVICE={settings.device})"
    )
    if not running or running[0] != wanted:
        # Built in, but it cannot start here: the CUDA or cuDNN libraries are missing, say.
        level = Level.WARN if settings.device == "auto" and running else Level.FAIL
        yield Finding(level, "ONNX Runtime", f"{text}; {wanted} did not start (docs/gpu.md)")
        return
    yield Finding(Level.OK, "ONNX Runtime", text)


def _models(settings: Settings) -> Iterator[Finding]:
    from facegate.engine.face_engine import FaceEngine
    from facegate.engine.options import EngineOptions

    options = EngineOptions.from_settings(settings)
    with tempfile.TemporaryDirectory(prefix="facegate-doctor-") as scratch:
        if not settings.data_dir.exists():
            # Loading converts dlib's network into data_dir/models: the doctor never creates a
            # data directory, which a mistyped path would leave behind.
            options = replace(options, data_dir=Path(scratch))
        started = time.perf_counter()
        try:
            engine = FaceEngine.create(options)
            engine.load_plugin_models()
        except FacegateError as error:
            yield Finding(Level.FAIL, "models", error.message)
            return
    yield Finding(
        Level.OK,
        "models",
        f"{engine.model} loaded in {time.perf_counter() - started:.1f} s "
        f"(embeddings {engine.calculator_id})",
    )


def _database(settings: Settings, broker: str | None) -> Iterator[Finding]:
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database and not Path(url.database).exists():
        yield Finding(
            Level.WARN,
            "database",
            f"no database at {url.database} yet: `facegate serve` creates it. If a server "
            "already runs, point FACEGATE_DATA_DIR (or --data-dir) at its data directory",
        )
        return
    from facegate.db.session import create_db_engine

    database = create_db_engine(settings)
    try:
        with database.connect() as connection:
            yield _schema(connection, database)
            if settings.search_backend == "pgvector":
                yield _pgvector(connection)
        yield from _sinks(database, broker)
    except DBAPIError as error:
        yield Finding(Level.FAIL, "database", database_message(error))
    finally:
        database.dispose()


def _schema(connection: Connection, database: Engine) -> Finding:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from facegate.db.session import alembic_config

    current = MigrationContext.configure(connection).get_current_revision()
    scripts = ScriptDirectory.from_config(alembic_config(database))
    head = scripts.get_current_head()
    where = database.url.render_as_string(hide_password=True)
    if current == head:
        return Finding(Level.OK, "database", f"{where} answers; schema up to date ({head})")
    if current is None:
        return Finding(
            Level.WARN, "database", f"{where} is empty: `facegate serve` creates the schema"
        )
    if current not in {script.revision for script in scripts.walk_revisions()}:
        return Finding(
            Level.FAIL,
            "database",
            f"{where} has schema {current}, written by a newer facegate than this one: "
            "upgrade facegate, or restore a backup made before",
        )
    return Finding(
        Level.WARN,
        "database",
        f"{where} has schema {current}, this facegate's is {head}: `facegate serve` (or "
        "`facegate db upgrade`) applies the migrations",
    )


def _pgvector(connection: Connection) -> Finding:
    from facegate.collection import pgvector

    try:
        pgvector.check(connection)
    except SearchBackendUnavailable as error:
        return Finding(Level.FAIL, "pgvector", error.message)
    return Finding(Level.OK, "pgvector", "the `vector` extension is available")


def _sinks(database: Engine, broker: str | None) -> Iterator[Finding]:
    from facegate.db.session import session_factory
    from facegate.events.health import sink_health

    with session_factory(database)() as s:
        health = sink_health(s, mqtt=broker)
    for problem in health.problems:
        yield Finding(Level.FAIL, "events", problem)
    if not health.problems:
        waiting = ", ".join(f"{count} {sink}" for sink, count in health.waiting.items())
        yield Finding(Level.OK, "events", f"deliveries waiting: {waiting}")


def _broker_status(settings: Settings) -> str | None:
    """None without a broker; else `connected` or why not, after waiting for the connection."""
    if not settings.mqtt_url:
        return None
    from facegate.events.sinks import MqttPublisher

    publisher = MqttPublisher(
        settings.mqtt_url, prefix=settings.mqtt_topic_prefix, timeout=BROKER_WAIT_SECONDS
    )
    try:
        deadline = time.monotonic() + BROKER_WAIT_SECONDS
        while publisher.status() != CONNECTED and time.monotonic() < deadline:
            time.sleep(0.05)
        return publisher.status()
    finally:
        publisher.close()


def _broker(settings: Settings, status: str | None) -> Iterator[Finding]:
    if settings.mqtt_url is None or status is None:
        yield Finding(Level.OK, "MQTT", "off (FACEGATE_MQTT_URL is not set)")
        return
    parts = urlsplit(settings.mqtt_url)  # shown without its user and password
    where = f"{parts.hostname}:{parts.port or (8883 if parts.scheme == 'mqtts' else 1883)}"
    if status == CONNECTED:
        yield Finding(Level.OK, "MQTT", f"the broker at {where} takes the connection")
    else:
        yield Finding(
            Level.FAIL, "MQTT", f"{where}: {status}: check FACEGATE_MQTT_URL and the broker"
        )


def _disk(settings: Settings) -> Iterator[Finding]:
    place = settings.data_dir.resolve()
    while not place.exists():
        place = place.parent
    free = shutil.disk_usage(place).free
    text = f"{free / GIB:.1f} GiB free at {place}"
    if free < DISK_FAIL:
        yield Finding(Level.FAIL, "disk", f"{text}: the database and the models need room")
    elif free < DISK_WARN:
        yield Finding(Level.WARN, "disk", f"{text}: less than 1 GiB left")
    else:
        yield Finding(Level.OK, "disk", text)
