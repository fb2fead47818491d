"""The application object: health, CORS on /api/v1, the request size limit, the lifespan."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path
from typing import Any

import httpx
import pytest

from facegate.app import create_app, from_environment
from tests.support.clients import Api, running_api


def test_healthz_is_503_before_the_lifespan_ran(settings: Any) -> None:
    app = create_app(settings, engine=object())  # nothing is loaded without the lifespan

    async def probe() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/healthz")

    assert asyncio.run(probe()).status_code == 503


def test_healthz_is_ok_when_serving(api: Api) -> None:
    health = api.client.get("/healthz").json()
    assert health["status"] == "OK"
    # How many examples each model covers (decisions.md D29): none yet.
    assert health["embeddings"] == {
        "examples": 0,
        "byModel": {},
        "model": api.engine.calculator_id,
    }
    # Event sinks that cannot deliver (docs/decisions.md D57): none switched on.
    assert health["events"] == {
        "status": "OK",
        "waiting": {"webhook": 0, "mqtt": 0},
        "problems": [],
    }


def test_cors_preflight(api: Api) -> None:
    response = api.client.options(
        "/api/v1/recognition/recognize",
        headers={
            "Origin": "http://elsewhere.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key",
        },
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "x-api-key" in response.headers["access-control-allow-headers"]
    assert response.headers["access-control-allow-methods"] == "GET, POST, OPTIONS, PUT, DELETE"


def test_cors_headers_on_answers_and_errors(api: Api) -> None:
    ok = api.request("GET", "/api/v1/recognition/subjects")
    assert ok.headers["access-control-allow-origin"] == "*"
    error = api.client.get("/api/v1/recognition/subjects")
    assert error.status_code == 400
    assert error.headers["access-control-allow-origin"] == "*"
    # Only the public API is open to other origins, not the admin API or the UI.
    assert "access-control-allow-origin" not in api.client.get("/healthz").headers


def _raw_exchange(url: str, head: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and b'"code"' in b"".join(chunks):
                break
    return b"".join(chunks)


def test_413_before_the_body_is_read(api: Api) -> None:
    # Announce 1 GB and send none of it: the answer must come without waiting for the body.
    head = (
        b"POST /api/v1/recognition/recognize HTTP/1.1\r\nHost: x\r\n"
        + f"x-api-key: {api.keys['recognition']}\r\n".encode()
        + b"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000000\r\n\r\n"
    )
    answer = _raw_exchange(api.url, head)
    assert answer.startswith(b"HTTP/1.1 413")
    assert b'"code":0' in answer and b"larger than the allowed maximum" in answer


def test_413_for_a_chunked_body(make_settings: Any, face_engine: Any, faces_dir: Any) -> None:

    with running_api(make_settings(max_request_size=50_000), face_engine, faces_dir) as api:

        def body() -> Any:
            for _ in range(20):
                yield b"x" * 10_000

        response = api.request(
            "POST",
            "/api/v1/recognition/recognize",
            content=body(),
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert response.status_code == 413
        assert response.json()["code"] == 0
        assert api.client.get("/healthz").status_code == 200


@pytest.mark.parametrize("path", ["/", "/api/v1/config", "/admin/user/me"])
def test_other_routers_are_mounted(api: Api, path: str) -> None:
    assert api.client.get(path).status_code in (200, 401)


def test_workers_read_their_settings_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`serve --workers N` passes only its options on; passwords stay where the user put them."""
    monkeypatch.setenv("FACEGATE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FACEGATE_MAX_FILE_SIZE", "1MB")
    app = from_environment()
    assert app.state.settings.data_dir == tmp_path
    assert app.state.settings.max_file_size == 1024**2
    assert not any("SETTINGS" in name for name in os.environ)
