"""The ASGI application factory: routers, middleware, and the resources its lifespan opens."""

from __future__ import annotations

import functools
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool

from facegate.api import errors, metrics, openapi
from facegate.api.middleware import (
    ApiCors,
    BodyLimit,
    BodyTimeout,
    HeaderLimit,
    Idempotency,
    ServerFaults,
    TrailingSlash,
)
from facegate.config import Settings
from facegate.events.health import SinkHealth, sink_health
from facegate.metrics import record_memory

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from facegate.collection.reads import Coverage
    from facegate.engine.faces import FaceAnalyzer

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, engine: FaceAnalyzer | None = None, db: Engine | None = None
) -> FastAPI:
    """Build the app. Models, database and index open in the lifespan, not here.

    `engine` and `db` let a caller (a test) share an already loaded engine or database engine.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from facegate.admin.mail_outbox import MailWorker
        from facegate.collection.recognition import Recognitions
        from facegate.collection.search import open_search
        from facegate.collection.servers import Presence
        from facegate.collection.unknown import Limits
        from facegate.db.session import create_db_engine, session_factory, upgrade
        from facegate.events.worker import DeliveryWorker
        from facegate.inference import Inference

        _reserve_threads(settings)
        database = db if db is not None else create_db_engine(settings)
        await run_in_threadpool(upgrade, database)
        face_engine = engine if engine is not None else await run_in_threadpool(_load, settings)
        app.state.db = database
        app.state.sessions = session_factory(database)
        app.state.index = await run_in_threadpool(
            functools.partial(
                open_search,
                settings.search_backend,
                app.state.sessions,
                calculator=face_engine.calculator_id,
                dimensions=face_engine.dimensions,
                scale=face_engine.scale,
            )
        )
        app.state.inference = Inference(
            face_engine,
            settings.max_concurrent_inferences,
            max_queued=settings.max_queued_inferences,
            max_file_size=settings.max_file_size,
        )
        app.state.recognitions = Recognitions(
            app.state.sessions, app.state.inference, app.state.index, Limits.of(settings)
        )
        await run_in_threadpool(_report_coverage, app.state.sessions, face_engine)
        presence = Presence(
            app.state.sessions, calculator=face_engine.calculator_id, model=face_engine.model
        )
        await run_in_threadpool(presence.start)
        app.state.presence = presence
        # Under workers each one's memory gauge exists from its start: published here, not
        # 0 until its first request ends (a worker restarted by its supervisor, say).
        record_memory()
        # One per process: with workers, each claims deliveries from the shared outbox.
        app.state.events = DeliveryWorker(app.state.sessions, settings)
        app.state.events.start()
        # Account e-mails leave through their outbox the same way (facegate.admin.mail_outbox).
        app.state.mail = MailWorker(app.state.sessions, settings)
        app.state.mail.start()
        app.state.frigate, frigate_lock = _frigate(app, settings)
        app.state.ready = True
        try:
            yield
        finally:
            app.state.ready = False
            if app.state.frigate is not None:
                await run_in_threadpool(app.state.frigate.stop)
            if frigate_lock is not None:
                frigate_lock.close()
            await run_in_threadpool(app.state.events.stop)
            await run_in_threadpool(app.state.mail.stop)
            await run_in_threadpool(presence.stop)
            if db is None:
                database.dispose()

    app = FastAPI(
        title="facegate",
        summary="CompreFace-compatible face recognition",
        lifespan=lifespan,
        docs_url=None,  # api.openapi serves Swagger UI without a CDN
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ready = False
    app.state.frigate = None
    errors.install(app)
    openapi.install(app)
    _include_routers(app)
    app.add_api_route("/healthz", healthz, methods=["GET"], include_in_schema=False)
    app.add_api_route("/metrics", metrics.endpoint, methods=["GET"], include_in_schema=False)
    app.add_middleware(ServerFaults)  # innermost: the other layers still see (and shape) a 500
    app.add_middleware(Idempotency, ttl_seconds=settings.idempotency_ttl_seconds)
    app.add_middleware(BodyLimit, max_bytes=settings.max_request_size)
    app.add_middleware(BodyTimeout, seconds=settings.request_body_timeout)
    app.add_middleware(
        HeaderLimit, max_bytes=settings.max_header_size, max_count=settings.max_header_count
    )
    # Inside TrailingSlash, which copies the scope, so it reads the route the router left there;
    # outside the limits, so their refusals count too.
    app.add_middleware(metrics.RequestMetrics)
    app.add_middleware(TrailingSlash)
    app.add_middleware(ApiCors)  # outermost, so a 413 carries the CORS headers too
    return app


# Room for the request line (method, path and query string) on top of the header fields, as much
# as nginx's request-line buffer in front of CompreFace.
REQUEST_LINE_ALLOWANCE = 8 * 1024


def server_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for serving `create_app(settings)`: h11, because it stops buffering a
    request head at a size we choose (httptools buffers any size), so a 1 MB header or 5,000
    of them are refused (400) before they are held in memory. uvicorn's own reading of
    forwarding headers is off (by default it believes them from 127.0.0.1): the client's address
    is read through `trusted_proxies` alone (api/addresses.py)."""
    return {
        "http": "h11",
        "proxy_headers": False,
        "h11_max_incomplete_event_size": settings.max_header_size + REQUEST_LINE_ALLOWANCE,
    }


# Threads of the pool that sync handlers run in kept for everything but inference (/healthz,
# /metrics, lists, deletes, refusals): anyio's default pool size.
SPARE_THREADS = 40


def _reserve_threads(settings: Settings) -> None:
    """Size the thread pool of sync handlers so that requests holding or waiting for an
    inference slot (at most concurrent + queued; past them, refused at once) leave
    SPARE_THREADS for every other request (decisions.md D31)."""
    inference = settings.max_concurrent_inferences + settings.max_queued_inferences
    to_thread.current_default_thread_limiter().total_tokens = inference + SPARE_THREADS


def _load(settings: Settings) -> FaceAnalyzer:
    from facegate.engine.face_engine import FaceEngine

    return FaceEngine.from_settings(settings)


def _frigate(app: FastAPI, settings: Settings) -> tuple[Any, Any]:
    """The Frigate companion and its lock, when Frigate is set and no other process of this
    server runs one (docs/frigate.md); (None, None) otherwise."""
    if not settings.frigate_url:
        return None, None
    from facegate.frigate.companion import FrigateCompanion, claim

    lock = claim(settings.data_dir)
    if lock is None:
        return None, None
    companion = FrigateCompanion(app.state.sessions, app.state.inference, app.state.index, settings)
    companion.start()
    return companion, lock


def _report_coverage(sessions: sessionmaker[Session], engine: FaceAnalyzer) -> None:
    """Log, at start, examples this model has not embedded: they are not searched until
    `facegate migrate` embeds them."""
    from facegate.collection import reads

    with sessions() as s:
        stale = reads.stale_count(s, calculator=engine.calculator_id)
    if stale:
        log.warning(
            "%d face examples have no embedding by %s (%s), only by another model: they are "
            "not searched until embedded; run `facegate migrate` (docs/models.md, switching)",
            stale,
            engine.model,
            engine.calculator_id,
        )


def _include_routers(app: FastAPI) -> None:
    from facegate import web
    from facegate.api import (
        admin,
        bursts,
        detection,
        faces,
        gallery_check,
        recognition,
        rejections,
        subjects,
        unknown_faces,
        utility,
        verification,
    )

    modules = (
        subjects,
        faces,
        recognition,
        bursts,
        unknown_faces,
        gallery_check,
        rejections,
        detection,
        verification,
        utility,
    )
    for module in modules:
        app.include_router(module.router, prefix="/api/v1")
    app.include_router(admin.router)
    web.mount(app)


async def healthz(request: Request) -> JSONResponse:
    """200 once the models are loaded and the database answers (Double Take probes this)."""
    if not request.app.state.ready:
        return JSONResponse({"status": "starting"}, status_code=503)
    database: Engine = request.app.state.db

    def ping() -> tuple[Coverage, SinkHealth]:
        with database.connect() as connection:
            connection.execute(text("SELECT 1"))
        coverage: Coverage = request.app.state.presence.coverage()
        with request.app.state.sessions() as s:
            sinks = sink_health(s, mqtt=request.app.state.events.mqtt_status())
        return coverage, sinks

    try:
        coverage, sinks = await run_in_threadpool(ping)
    except Exception as exc:  # any driver error means "not healthy", reported, not raised
        return JSONResponse({"status": "database unavailable", "error": str(exc)}, 503)
    calculator = request.app.state.inference.calculator_id
    body: dict[str, Any] = {"status": "OK", "embeddings": _embeddings(coverage, calculator)}
    # As Frigate's below: a sink that cannot deliver is not facegate's ill health (a restart
    # would not cure it), but it must be seen (docs/decisions.md D57).
    body["events"] = sinks.body()
    # Frigate being away is not facegate's ill health (a restart would not cure it), but it
    # must be seen: the companion's links, in the answer (docs/frigate.md).
    if request.app.state.frigate is not None:
        body["frigate"] = request.app.state.frigate.health()
    elif request.app.state.settings.frigate_url:
        body["frigate"] = {"companion": "runs in another process of this server"}
    return JSONResponse(body)


def _embeddings(coverage: Coverage, calculator: str) -> dict[str, Any]:
    """How many examples there are and each model has embedded, and a warning when this
    server's model has not embedded them all: it cannot find those."""
    detail: dict[str, Any] = {
        "examples": coverage.examples,
        "byModel": coverage.by_model,
        "model": calculator,
    }
    missing = coverage.examples - coverage.by_model.get(calculator, 0)
    if missing > 0:
        detail["warning"] = (
            f"{missing} examples have no embedding by this server's model ({calculator}) and "
            "cannot be found until `facegate migrate` embeds them"
        )
    return detail


def from_environment() -> FastAPI:
    """uvicorn factory for worker processes: each reads its settings as `facegate serve` did,
    from the environment and `.env` (the command's options arrive as FACEGATE_* variables), so
    no password is copied into the environment."""
    return create_app(Settings.model_validate({}))
