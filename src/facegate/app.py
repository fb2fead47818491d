"""The ASGI application factory: routers, middleware, and the resources its lifespan opens."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

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
from facegate.metrics import record_memory

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from facegate.engine.face_engine import FaceEngine

log = logging.getLogger(__name__)


def create_app(
    settings: Settings, *, engine: FaceEngine | None = None, db: Engine | None = None
) -> FastAPI:
    """Build the app. Models, database and index open in the lifespan, not here.

    `engine` and `db` let a caller (a test) share an already loaded engine or database engine.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from facegate.collection.index import IndexRegistry
        from facegate.db.session import create_db_engine, session_factory, upgrade
        from facegate.events.worker import DeliveryWorker
        from facegate.inference import Inference

        database = db if db is not None else create_db_engine(settings)
        await run_in_threadpool(upgrade, database)
        face_engine = engine if engine is not None else await run_in_threadpool(_load, settings)
        app.state.db = database
        app.state.sessions = session_factory(database)
        app.state.index = IndexRegistry(
            app.state.sessions, calculator=face_engine.calculator_id, scale=face_engine.scale
        )
        app.state.inference = Inference(
            face_engine,
            settings.max_concurrent_inferences,
            max_queued=settings.max_queued_inferences,
            max_file_size=settings.max_file_size,
        )
        await run_in_threadpool(_report_consistency, app.state.sessions, face_engine)
        # Under workers each one's memory gauge exists from its start: published here, not
        # 0 until its first request ends (a worker restarted by its supervisor, say).
        record_memory()
        # One per process: with workers, each claims deliveries from the shared outbox.
        app.state.events = DeliveryWorker(app.state.sessions, settings)
        app.state.events.start()
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
            app.state.index.close()
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
    of them are refused (400) before they are held in memory."""
    return {
        "http": "h11",
        "h11_max_incomplete_event_size": settings.max_header_size + REQUEST_LINE_ALLOWANCE,
    }


def _load(settings: Settings) -> FaceEngine:
    from facegate.engine.face_engine import FaceEngine
    from facegate.engine.options import EngineOptions

    return FaceEngine.create(EngineOptions.from_settings(settings))


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


def _report_consistency(sessions: sessionmaker[Session], engine: FaceEngine) -> None:
    """Log, at start, examples another model embedded: they are not searched until migrated."""
    from facegate.collection import stored

    with sessions() as s:
        stale = stored.stale_count(s, calculator=engine.calculator_id)
    if stale:
        log.warning(
            "%d face examples were embedded by another model than %s (%s): they are not "
            "searched until re-embedded; run `facegate migrate` (docs/models.md, switching)",
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
        recognition,
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

    def ping() -> None:
        with database.connect() as connection:
            connection.execute(text("SELECT 1"))

    try:
        await run_in_threadpool(ping)
    except Exception as exc:  # any driver error means "not healthy", reported, not raised
        return JSONResponse({"status": "database unavailable", "error": str(exc)}, 503)
    body: dict[str, Any] = {"status": "OK"}
    # Frigate being away is not facegate's ill health (a restart would not cure it), but it
    # must be seen: the companion's links, in the answer (docs/frigate.md).
    if request.app.state.frigate is not None:
        body["frigate"] = request.app.state.frigate.health()
    elif request.app.state.settings.frigate_url:
        body["frigate"] = {"companion": "runs in another process of this server"}
    return JSONResponse(body)


def from_environment() -> FastAPI:
    """uvicorn factory for worker processes: each reads its settings as `facegate serve` did,
    from the environment and `.env` (the command's options arrive as FACEGATE_* variables), so
    no password is copied into the environment."""
    return create_app(Settings.model_validate({}))
