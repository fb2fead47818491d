"""Servers the tests start: uvicorn in a thread (on the real engine or a fake one), `facegate
serve` in a subprocess, and the database behind them seen from the test's side."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from anyio.from_thread import BlockingPortal, start_blocking_portal
from sqlalchemy.orm import Session, sessionmaker

from facegate import face_services
from facegate.app import create_app, server_options
from facegate.config import Settings
from facegate.db.session import create_db_engine, session_factory
from tests.support.fake_engine import FakeEngine


def free_port() -> int:
    """A port the OS just handed out; it stays free for the short moment a test needs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class LiveServer:
    """uvicorn serving `app` in a background thread of this process."""

    def __init__(self, app: Any, port: int | None = None, **options: Any) -> None:
        """`options`: more of uvicorn's, such as `facegate.app.server_options(settings)`."""
        self.port = port or free_port()
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_level="warning", **options
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 60
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


class _PortalTransport(httpx.BaseTransport):
    """httpx.ASGITransport for a synchronous client: each request runs on the event loop of a
    blocking portal (the thread that also holds the app's lifespan)."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._asgi = httpx.ASGITransport(app=app)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def exchange() -> httpx.Response:
            request.stream = httpx.ByteStream(request.read())
            response = await self._asgi.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        return self._portal.call(exchange)


@contextmanager
def in_process(app: Any) -> Iterator[httpx.Client]:
    """A client of `app` with its lifespan running, over httpx.ASGITransport: no socket, no
    uvicorn. The app runs on one event loop in a thread of its own, as under uvicorn."""
    with (
        start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
        httpx.Client(
            transport=_PortalTransport(app, portal), base_url="http://testserver"
        ) as client,
    ):
        yield client


@contextmanager
def database(settings: Settings) -> Iterator[sessionmaker[Session]]:
    """Sessions on a server's database, from the test's side."""
    engine = create_db_engine(settings)
    try:
        yield session_factory(engine)
    finally:
        engine.dispose()


def create_service(settings: Settings, kind: str, name: str | None = None) -> str:
    """Create a service of `kind` in the default application; returns its API key."""
    with database(settings) as sessions, sessions() as s, s.begin():
        app = face_services.default_application(s)
        return face_services.create_service(s, app=app, name=name or kind, type=kind).api_key


@contextmanager
def serve(settings: Settings, *, port: int | None = None) -> Iterator[str]:
    """create_app(settings) on the fake engine under uvicorn in a thread, with the options
    `facegate serve` gives it; yields the base URL. `port` when the settings must name it
    (public_url, for e-mailed links)."""
    app = create_app(settings, engine=FakeEngine())
    with LiveServer(app, port, **server_options(settings)) as server:
        yield server.url


FACEGATE = shutil.which("facegate") or "facegate"


def facegate_env(db_url: str, data_dir: Path) -> dict[str, str]:
    """The environment of a `facegate` command on that database and data directory."""
    return os.environ | {
        "FACEGATE_DATABASE_URL": db_url,
        "FACEGATE_DATA_DIR": str(data_dir),
        "FACEGATE_THREADS": "1",
    }


@contextmanager
def serving(db_url: str, data_dir: Path, *args: str) -> Iterator[str]:
    """`facegate serve` in a subprocess on a free port; yields its URL once /healthz says OK."""
    port = free_port()
    process = subprocess.Popen(
        [FACEGATE, "serve", "--port", str(port), *args],
        env=facegate_env(db_url, data_dir),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the server did not become healthy"
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stderr.close()  # type: ignore[union-attr]
