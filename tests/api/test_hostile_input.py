"""Hostile input on the face API (issue 13): each cause of a 500 seen from the outside is now a
4xx with CompreFace's body, on SQLite and PostgreSQL; a real fault is a 500 logged once."""

from __future__ import annotations

import base64
import io
import json
import logging
import re
import struct
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx
import numpy as np
import pytest
from PIL import Image

from facegate.app import create_app
from tests.support.clients import Api, refused
from tests.support.servers import FakeEngine, LiveServer

# Endpoints taking an image, with their image parts.
IMAGE_ENDPOINTS = [
    ("/api/v1/recognition/faces?subject=x", "recognition", ["file"]),
    ("/api/v1/recognition/recognize", "recognition", ["file"]),
    ("/api/v1/detection/detect", "detection", ["file"]),
    ("/api/v1/verification/verify", "verification", ["source_image", "target_image"]),
]
FACES = "/api/v1/recognition/faces"
EMBEDDINGS_RECOGNIZE = "/api/v1/recognition/embeddings/recognize"
EMBEDDINGS_VERIFY = "/api/v1/verification/embeddings/verify"


def _encoded(fmt: str) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((48, 64, 3), 128, dtype=np.uint8)).save(buffer, fmt)
    return buffer.getvalue()


def _broken_files() -> dict[str, bytes]:
    jpeg, png, bmp, webp = (_encoded(fmt) for fmt in ("JPEG", "PNG", "BMP", "WEBP"))
    depth = bytearray(bmp)
    struct.pack_into("<H", depth, 28, 7)  # BMP bit depth
    flipped = bytearray(png)
    flipped[len(png) // 2] ^= 0xFF
    return {
        "truncated.jpg": jpeg[: len(jpeg) // 2],
        "truncated.png": png[: len(png) // 2],
        "depth.bmp": bytes(depth),
        "header.webp": webp[:30],
        "flipped.png": bytes(flipped),
    }


def test_broken_images_on_every_image_endpoint(hostile_api: Api) -> None:
    api = hostile_api
    for filename, data in _broken_files().items():
        for path, kind, parts in IMAGE_ENDPOINTS:
            multipart = {part: (filename, data, "application/octet-stream") for part in parts}
            base64_json = {part: base64.b64encode(data).decode() for part in parts}
            for sent in ({"files": multipart}, {"json": base64_json}):
                message = refused(api.request("POST", path, kind, **sent), 400, 21)
                assert message.startswith("The image file is truncated or corrupt ("), message


def test_deeply_nested_json(hostile_api: Api) -> None:
    nested = b"[" * 100_000
    for path in ("/api/v1/recognition/subjects", EMBEDDINGS_RECOGNIZE, f"{FACES}/delete"):
        response = hostile_api.request(
            "POST", path, content=nested, headers={"content-type": "application/json"}
        )
        assert refused(response, 400, 0) == "The request body is nested too deeply"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_json_constants_that_are_not_json(hostile_api: Api, constant: str) -> None:
    body = f'{{"embeddings": [[{constant}]]}}'.encode()
    response = hostile_api.request(
        "POST", EMBEDDINGS_RECOGNIZE, content=body, headers={"content-type": "application/json"}
    )
    assert refused(response, 400, 0) == "The request body is not valid JSON"


@pytest.mark.parametrize(
    "params",
    [
        {"page": "99999999999999999999"},
        {"size": "99999999999999999999"},
        {"page": "2147483648"},
        {"page": "-2147483649"},
        {"page": "1" * 5000},
    ],
)
def test_page_and_size_outside_an_int(hostile_api: Api, params: dict[str, str]) -> None:
    name = next(iter(params))
    message = refused(hostile_api.request("GET", FACES, params=params), 400, 26)
    assert message.startswith(f"{name} should be an integer"), message


def test_largest_page_is_an_empty_page(hostile_api: Api) -> None:
    # page * size = 2^31 * 2000 is past 32 bits and inside the databases' 64-bit OFFSET.
    params = {"page": "2147483647", "size": "2000"}
    page = hostile_api.request("GET", FACES, params=params).json()
    assert (page["faces"], page["total_elements"], page["page_number"]) == ([], 1, 2147483647)


@pytest.mark.parametrize("name", ["limit", "prediction_count"])
def test_recognize_integers_outside_an_int(hostile_api: Api, name: str) -> None:
    response = hostile_api.recognize("fr_obama_small.jpg", **{name: "99999999999999999999"})
    assert refused(response, 400, 26).startswith(f"{name} should be an integer from")


def _embedding_requests(api: Api, values: list[Any]) -> Iterator[httpx.Response]:
    """`values` as an embedding on each embedding endpoint."""
    image_id = api.examples()[0]["image_id"]
    yield api.request("POST", EMBEDDINGS_RECOGNIZE, json={"embeddings": [values]})
    against_example = f"/api/v1/recognition/embeddings/faces/{image_id}/verify"
    yield api.request("POST", against_example, json={"embeddings": [values]})
    body = {"source": values, "targets": [values]}
    yield api.request("POST", EMBEDDINGS_VERIFY, "verification", json=body)


@pytest.mark.parametrize(
    "bad",
    [10**400, -(10**400), 1e308, -1e16, 10**16],
    ids=["int over a float", "negative int over a float", "1e308", "-1e16", "int 1e16"],
)
def test_embedding_values_must_be_finite_and_bounded(hostile_api: Api, bad: Any) -> None:
    values: list[Any] = [0.1] * hostile_api.engine.dimensions
    values[3] = bad
    for response in _embedding_requests(hostile_api, values):
        message = refused(response, 400, 26)
        assert message.endswith("must hold finite numbers from -1e+15 to 1e+15"), message


def test_embedding_value_read_as_infinity(hostile_api: Api) -> None:
    """1e400 is valid JSON, and Python reads it as infinity."""
    values = ", ".join(["0.1"] * (hostile_api.engine.dimensions - 1) + ["1e400"])
    response = hostile_api.request(
        "POST",
        EMBEDDINGS_RECOGNIZE,
        content=f'{{"embeddings": [[{values}]]}}'.encode(),
        headers={"content-type": "application/json"},
    )
    refused(response, 400, 26)


def test_embeddings_have_the_models_length(hostile_api: Api) -> None:
    dimensions = hostile_api.engine.dimensions
    for length in (1, dimensions - 1, dimensions + 1):
        for response in _embedding_requests(hostile_api, [0.5] * length):
            message = refused(response, 400, 0)
            assert message.startswith(f"The embedding has {length} values; "), message
    within = [0.5] * dimensions
    for response in _embedding_requests(hostile_api, within):
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("bad_id", ["\x00", "a\x00b", "x" * 37, "é"])
def test_image_ids_that_cannot_be_stored_are_unknown(hostile_api: Api, bad_id: str) -> None:
    api = hostile_api
    quoted = quote(bad_id, safe="")
    refused(api.request("DELETE", f"{FACES}/{quoted}"), 404, 44)
    image = {"file": ("a.jpg", api.photo("fr_obama_small.jpg"), "image/jpeg")}
    verify = api.request("POST", f"{FACES}/{quoted}/verify", files=image)
    assert refused(verify, 404, 44) == "Image Id is incorrect"
    embedding = {"embeddings": [[0.1] * api.engine.dimensions]}
    by_embedding = api.request(
        "POST", f"/api/v1/recognition/embeddings/faces/{quoted}/verify", json=embedding
    )
    assert refused(by_embedding, 404, 44) == "Image Id is incorrect"
    download = api.request("GET", f"{FACES}/{quoted}/img")
    assert (download.status_code, download.content) == (200, b"")
    static = api.client.get(f"/api/v1/static/{api.keys['recognition']}/images/{quoted}")
    assert (static.status_code, static.content) == (200, b"")
    # As a key in the path of the static image URL: no service, so no image.
    static_key = api.client.get(f"/api/v1/static/{quoted}/images/x")
    assert (static_key.status_code, static_key.content) == (200, b"")


def test_bulk_delete_skips_ids_that_cannot_be_stored(hostile_api: Api) -> None:
    ids = ["\x00", "\ud800", "a\x00b", "x" * 100]
    response = hostile_api.request(
        "POST",
        f"{FACES}/delete",
        content=json.dumps(ids).encode(),  # "\ud800" escaped: it has no UTF-8 form
        headers={"content-type": "application/json"},
    )
    assert (response.status_code, response.json()) == (200, [])


# --- a real fault: a 500 with a request id, logged once ------------------------------------------


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def test_server_fault_is_a_500_logged_once_with_its_request_id(settings: Any) -> None:
    app = create_app(settings, engine=FakeEngine())

    def fault() -> None:
        raise RuntimeError("a bug of facegate's own")

    app.add_api_route("/api/v1/fault", fault, methods=["GET"])
    records = _Records()
    # uvicorn's own logger does not propagate to the root logger: watch both.
    watched = [logging.getLogger("uvicorn.error"), logging.getLogger("facegate")]
    for logger in watched:
        logger.addHandler(records)
    try:
        with LiveServer(app) as server:
            response = httpx.get(f"{server.url}/api/v1/fault")
    finally:
        for logger in watched:
            logger.removeHandler(records)
    body = response.json()
    assert response.status_code == 500
    assert set(body) == {"message", "code", "request_id"}
    assert (body["message"], body["code"]) == ("Something went wrong, please try again", 0)
    assert re.fullmatch(r"[0-9a-f]{32}", body["request_id"])
    # CompreFace's CORS headers on /api/v1 are added to this answer too.
    assert response.headers["access-control-allow-origin"] == "*"
    tracebacks = [record for record in records.records if record.exc_info]
    assert len(tracebacks) == 1
    assert body["request_id"] in tracebacks[0].getMessage()
    assert "GET /api/v1/fault" in tracebacks[0].getMessage()
