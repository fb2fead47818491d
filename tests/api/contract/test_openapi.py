"""The OpenAPI description of the face API (`/openapi.json`) against the app's own routes, and the
Swagger UI page that browses it with no asset from another host (issue 10).

The operations come from the app's routes, so an endpoint added without a description fails
here. That the descriptions are true (what each endpoint really answers, errors included) is
checked over HTTP on the real engine by tests/api/test_schemathesis.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from facegate.api import deps
from facegate.app import create_app
from tests.support.clients import Api

# The service type whose key each group of endpoints takes (docs/api.md, "Key").
VERIFICATION = ("/api/v1/verification/verify", "/api/v1/verification/embeddings/verify")
KEYLESS = (
    "/api/v1/config",
    "/api/v1/consistence/status",
    "/api/v1/migrate",
    "/api/v1/static/{api_key}/images/{image_id}",
)
FACE_QUERY = {"limit", "det_prob_threshold", "face_plugins", "status"}


def _operations(api: Api) -> Iterator[tuple[APIRoute, str]]:
    for route in create_app(api.settings).routes:  # the routes are there before the lifespan
        if isinstance(route, APIRoute) and route.path.startswith("/api/v1"):
            assert route.include_in_schema, route.path
            yield from ((route, method.lower()) for method in sorted(route.methods))


def _calls(dependant: Dependant) -> set[Any]:
    """Every dependency function a route runs, directly or through another."""
    found: set[Any] = set()
    for sub in dependant.dependencies:
        found |= {sub.call} | _calls(sub)
    return found


def _key_kind(path: str) -> str | None:
    if path in KEYLESS:
        return None
    if path in VERIFICATION:
        return "verification"
    return "detection" if path.startswith("/api/v1/detection") else "recognition"


@pytest.fixture
def document(api: Api) -> dict[str, Any]:
    response = api.client.get("/openapi.json")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def test_every_face_endpoint_states_its_parameters_body_key_and_answers(
    api: Api, document: dict[str, Any]
) -> None:
    schemes = document["components"]["securitySchemes"]
    for route, method in _operations(api):
        described = document["paths"][route.path][method]
        where = f"{method.upper()} {route.path}"
        parameters = {p["name"]: p for p in described.get("parameters", [])}
        # Path parameters, and a type for every parameter.
        assert set(re.findall(r"{(\w+)}", route.path)) <= set(parameters), where
        for name, parameter in parameters.items():
            assert parameter["schema"].get("type") or parameter["schema"].get("anyOf"), (
                where,
                name,
            )
        # A route that reads the request (parameters or body) says what it reads.
        if deps.read_body in _calls(route.dependant):
            assert "requestBody" in described or set(parameters) - {"image_id", "subject"}, where
        # The key: a scheme of the service type the route checks, an apiKey in x-api-key.
        kind = _key_kind(route.path)
        if kind is None:
            assert "security" not in described, where
        else:
            assert described["security"] == [{f"{kind}_key": []}], where
            assert schemes[f"{kind}_key"] | {"description": ""} == {
                "type": "apiKey",
                "in": "header",
                "name": "x-api-key",
                "description": "",
            }
            assert {20, 26} <= set(_codes(described, "400")), where
            assert 10 in _codes(described, "404"), where
        # The success has a schema; every refusal is CompreFace's body with its codes.
        success = str(route.status_code or 200)
        content = described["responses"][success]["content"]
        assert all(media["schema"] for media in content.values()), where
        for status, answer in described["responses"].items():
            if status.startswith(("4", "5")):
                schema = answer["content"]["application/json"]["schema"]
                assert _resolve(document, schema)["required"][:2] == ["message", "code"], where
        assert "422" not in described["responses"], where


def _codes(described: dict[str, Any], status: str) -> list[int]:
    schema = described["responses"][status]["content"]["application/json"]["schema"]
    codes: list[int] = schema["properties"]["code"]["enum"]
    return codes


def test_recognize_is_described_with_defaults_ranges_and_both_bodies(
    document: dict[str, Any],
) -> None:
    recognize = document["paths"]["/api/v1/recognition/recognize"]["post"]
    parameters = {p["name"]: p["schema"] for p in recognize["parameters"]}
    assert set(parameters) == FACE_QUERY | {
        "prediction_count",
        "detect_faces",
        "min_similarity",
        "aggregate",
        "unique_subjects",
        "dry_run",
    }
    assert parameters["unique_subjects"] == {"type": "boolean"}  # default: the service's
    assert parameters["limit"] == {
        "type": "integer",
        "minimum": 0,
        "maximum": 2**31 - 1,
        "default": 0,
    }
    assert parameters["det_prob_threshold"] == {"type": "number", "minimum": 0, "maximum": 1}
    assert parameters["status"] == {"type": "boolean", "default": False}
    assert parameters["detect_faces"] == {"type": "boolean", "default": True}
    assert parameters["prediction_count"]["default"] == 1
    body = recognize["requestBody"]["content"]
    assert list(body) == ["multipart/form-data", "application/json"]
    assert body["multipart/form-data"]["schema"]["properties"]["file"]["format"] == "binary"
    assert body["application/json"]["schema"]["required"] == ["file"]
    answer = _resolve(
        document, recognize["responses"]["200"]["content"]["application/json"]["schema"]
    )
    face = _resolve(document, answer["properties"]["result"]["items"])
    assert {"box", "subjects"} <= set(face["properties"])
    assert set(_codes(recognize, "400")) == {0, 5, 20, 21, 26, 28, 34}


def test_verify_takes_two_images_in_either_body(document: dict[str, Any]) -> None:
    body = document["paths"]["/api/v1/verification/verify"]["post"]["requestBody"]["content"]
    for media in body.values():
        assert media["schema"]["required"] == ["source_image", "target_image"]


def test_subjects_and_examples_bodies(document: dict[str, Any]) -> None:
    paths = document["paths"]
    create = paths["/api/v1/recognition/subjects"]["post"]
    subject = create["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert subject["subject"] | {"title": ""} == {
        "type": "string",
        "minLength": 1,
        "maxLength": 50,
        "title": "",
    }
    assert set(_codes(create, "400")) >= {26, 36, 43}
    assert _codes(create, "405") == [32]
    add = paths["/api/v1/recognition/faces"]["post"]
    subject_parameter = next(p for p in add["parameters"] if p["name"] == "subject")
    assert subject_parameter["required"] is True
    assert "201" in add["responses"]
    listing = {
        p["name"]: p["schema"] for p in paths["/api/v1/recognition/faces"]["get"]["parameters"]
    }
    assert listing["size"]["default"] == 20 and listing["page"]["default"] == 0
    ids = paths["/api/v1/recognition/faces/delete"]["post"]["requestBody"]["content"]
    assert ids["application/json"]["schema"] == {"type": "array", "items": {"type": "string"}}
    image = paths["/api/v1/recognition/faces/{image_id}/img"]["get"]["responses"]["200"]
    assert list(image["content"]) == ["application/octet-stream"]


def test_swagger_page_loads_everything_from_this_server(api: Api) -> None:
    page = api.client.get("/swagger-ui.html")
    assert page.status_code == 200
    assert not re.search(r"(https?:)?//[\w.-]+\.\w+", page.text), "a URL of another host"
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert {"/swagger-ui/swagger-ui-bundle.js", "/swagger-ui/swagger-ui.css"} <= set(assets)
    for asset in assets:
        answer = api.client.get(asset)
        assert answer.status_code == 200 and answer.content, asset
    assert '"validatorUrl": null' in page.text  # the spec is never sent to validator.swagger.io
