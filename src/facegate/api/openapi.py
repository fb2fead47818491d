"""The face API's OpenAPI description and the Swagger UI page that browses it, served offline.

Parameters and bodies are read tolerantly, Spring-style, by `params` and `deps` (CompreFace's
clients rely on it), not by FastAPI: so each route states here what it reads (`openapi_extra`),
what it answers (`responses`, with `schemas`) and which refusals it can give, without FastAPI
validating anything. The `x-api-key` security schemes come from the key dependency itself
(`deps._service_of`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from pydantic import TypeAdapter

from facegate.api import schemas
from facegate.api.params import IMAGE_EXTENSIONS, INT_MAX
from facegate.collection.store import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from facegate.engine import plugins as face_plugins
from facegate.errors import (
    AdministratorRequired,
    BadApiKey,
    BadRequest,
    CsrfRejected,
    EmbeddedByOtherModel,
    EmptyField,
    ExampleNotFound,
    ExampleRefused,
    FacegateError,
    FileTooLarge,
    HeadersTooLarge,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    ImageError,
    ImageIdIncorrect,
    InferenceQueueFull,
    InvalidName,
    InvalidParameter,
    MigrationImpossible,
    MigrationRunning,
    MissingApiKey,
    MissingParameter,
    MissingPart,
    ModelUnavailable,
    NoFaceFound,
    NotAuthenticated,
    RequestTimedOut,
    RequestTooLarge,
    ServiceNotFound,
    SubjectAlreadyExists,
    SubjectNotFound,
    SubjectWithoutExamples,
    TooManyFaces,
    WritesDuringMigration,
    WrongEmbeddingSize,
)

# Swagger UI's script and stylesheet, from the fastapi-offline package (MIT; Swagger UI itself
# is Apache-2.0): the page loads nothing from another host (decisions.md D17).
SWAGGER_ASSETS = Path(fastapi_offline.__file__).parent / "static"
SWAGGER_ASSETS_PATH = "/swagger-ui"
# CompreFace's springdoc serves its page here; clients and guides link to it.
SWAGGER_PAGE_PATH = "/swagger-ui.html"
SWAGGER_PARAMETERS = {
    # Swagger UI would send the description to validator.swagger.io for its badge.
    "validatorUrl": None,
    # Keys typed into "Authorize" survive a reload of the page.
    "persistAuthorization": True,
}


# --- query parameters ---------------------------------------------------------------------------


def query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    """A query parameter (Spring's @RequestParam: a multipart form field of that name works
    too)."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


_TOLERANT_BOOLEAN = "`true/false`, also `on/off`, `yes/no`, `1/0` in any case"
LIMIT = query(
    "limit",
    {"type": "integer", "minimum": 0, "maximum": INT_MAX, "default": 0},
    "At most this many faces, the largest; 0: every face",
)
DET_PROB_THRESHOLD = query(
    "det_prob_threshold",
    {"type": "number", "minimum": 0, "maximum": 1},
    "Minimum detection probability; default: the model set's (0.8 on dlib, 0.5 on InsightFace)",
)
FACE_PLUGINS = query(
    "face_plugins",
    {"type": "string", "default": ""},
    "Plugins to run, separated by commas: "
    + ", ".join(f"`{slug}`" for slug in sorted(face_plugins.KNOWN))
    + " (unknown names are ignored; one this server has no model for is refused)",
)
STATUS = query(
    "status",
    {"type": "boolean", "default": False},
    f"Add `execution_time` and `plugins_versions` ({_TOLERANT_BOOLEAN})",
)
FACE_QUERY = (LIMIT, DET_PROB_THRESHOLD, FACE_PLUGINS, STATUS)
PREDICTION_COUNT = query(
    "prediction_count",
    {"type": "integer", "default": 1, "anyOf": [{"const": -1}, {"minimum": 1, "maximum": INT_MAX}]},
    "Stored examples listed per face, most similar first; -1: all",
)
DETECT_FACES = query(
    "detect_faces",
    {"type": "boolean", "default": True},
    f"false: the whole image is one face, already cropped ({_TOLERANT_BOOLEAN})",
)
# facegate extensions to recognition (docs/api.md "Unknown faces and results per person").
MIN_SIMILARITY = query(
    "min_similarity",
    {"type": "number", "minimum": 0, "maximum": 1},
    "facegate: leave out matches less similar than this, so an empty `subjects` list means "
    "unknown; default: the service's similarity threshold, if it has one",
)
AGGREGATE = query(
    "aggregate",
    {"type": "string", "enum": ["example", "subject"], "default": "example"},
    "facegate: `subject` lists each subject once, with its best example's similarity, so "
    "`prediction_count` counts people; `example`: one entry per stored example (CompreFace)",
)
MATCHING = (MIN_SIMILARITY, AGGREGATE)
UNIQUE_SUBJECTS = query(
    "unique_subjects",
    {"type": "boolean"},
    "facegate: give each subject to one face of the photo (of each frame of a burst) at most, "
    "sharing subjects out by the best total similarity; default: the service's setting "
    "(`uniqueSubjects`, off) "
    f"({_TOLERANT_BOOLEAN})",
)
# facegate extension: a call that changes nothing (docs/api.md, docs/decisions.md D58).
DRY_RUN = query(
    "dry_run",
    {"type": "boolean", "default": False},
    "facegate: answer as usual but change nothing: no events to webhooks or MQTT, no unknown "
    f"face kept, not counted in the service's statistics; the web UI's test page sends it "
    f"({_TOLERANT_BOOLEAN})",
)
SUBJECT_TO_ADD = query(
    "subject", {"type": "string", "minLength": 1}, "The subject to add the example to"
) | {"required": True}
SUBJECT_FILTER = query("subject", {"type": "string"}, "Only this subject's examples (exact name)")
SUBJECT_TO_DELETE = query(
    "subject", {"type": "string"}, "The subject whose examples go; without it, every example"
)
PAGE = query(
    "page",
    {"type": "integer", "minimum": 0, "maximum": INT_MAX, "default": 0},
    "Page number from 0 (a negative one is 0)",
)
SIZE = query(
    "size",
    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
    f"Examples per page (below 1: {DEFAULT_PAGE_SIZE}; above {MAX_PAGE_SIZE}: {MAX_PAGE_SIZE})",
)


# --- request bodies -----------------------------------------------------------------------------


def image_body(*parts: str) -> dict[str, Any]:
    """Multipart image parts, or the same images as base64 JSON fields."""
    extensions = ", ".join(sorted(IMAGE_EXTENSIONS))
    upload = {
        "type": "string",
        "format": "binary",
        "description": f"An image file; its name must end in one of: {extensions}",
    }
    multipart = {
        "type": "object",
        "required": list(parts),
        "properties": dict.fromkeys(parts, upload),
        "description": "The query parameters may also be sent as form fields",
    }
    base64 = schemas.ImageBase64 if parts == ("file",) else schemas.TwoImagesBase64
    return {
        "required": True,
        "content": {
            "multipart/form-data": {"schema": multipart},
            "application/json": {"schema": base64.model_json_schema()},
        },
    }


def json_body(shape: Any) -> dict[str, Any]:
    """A JSON-only body of `shape` (a flat pydantic model or type: the schema has no $defs)."""
    return {
        "required": True,
        "content": {"application/json": {"schema": TypeAdapter(shape).json_schema()}},
    }


# --- refusals -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Refusal:
    """One refusal an endpoint can give: the error class (its status and code) and when."""

    error: type[FacegateError]
    when: str


KEYED = (
    Refusal(MissingApiKey, "no `x-api-key` header"),
    Refusal(BadApiKey, "the key is not a UUID"),
    Refusal(ServiceNotFound, "no service of this type has the key"),
)
# What any endpoint may answer, before its handler runs.
EVERY = (
    Refusal(RequestTooLarge, "the request is larger than `max_request_size`"),
    Refusal(HeadersTooLarge, "more than `max_header_count` headers, or over `max_header_size`"),
    Refusal(RequestTimedOut, "the body stopped arriving for `request_body_timeout`"),
)
BAD_JSON = Refusal(BadRequest, "a JSON body that does not parse, has NaN or is nested too deeply")
BAD_PARAMETER = Refusal(InvalidParameter, "a parameter out of its type or range")
# The collection writes: refused during a migration, and retried with an Idempotency-Key.
WRITE = (
    Refusal(WritesDuringMigration, "a migration (`POST /migrate`) is re-embedding"),
    Refusal(InvalidParameter, "an `Idempotency-Key` that is not 1 to 255 printable characters"),
    Refusal(IdempotencyKeyInFlight, "the first request with this `Idempotency-Key` still runs"),
    Refusal(IdempotencyKeyReused, "this `Idempotency-Key` came with another method or path"),
)
IMAGE = (
    Refusal(MissingPart, "a multipart request without the image part"),
    Refusal(EmptyField, "a JSON body without the image field"),
    Refusal(ImageError, "a bad file name extension, not base64, or not a decodable image"),
    Refusal(FileTooLarge, "an image larger than `max_file_size`"),
    Refusal(NoFaceFound, "no face found, or `det_prob_threshold` outside [0, 1]"),
    Refusal(ModelUnavailable, "a plugin this server has no model for"),
    Refusal(InferenceQueueFull, "`max_queued_inferences` requests already wait (`Retry-After`)"),
)
ONE_FACE = Refusal(TooManyFaces, "more than one face where one is expected")
QUALITY_REFUSED = Refusal(
    ExampleRefused, "the service's enrolment quality gate is on and the face fails a limit"
)
SUBJECT_NAME = (
    Refusal(
        InvalidParameter,
        "a blank name, over 50 characters, or with control characters or unpaired surrogates",
    ),
    Refusal(InvalidName, "a name with `;`, `/` or `\\`"),
)
UNKNOWN_SUBJECT = Refusal(SubjectNotFound, "no such subject")
SUBJECT_EMPTY = Refusal(SubjectWithoutExamples, "the subject has no example of this model")
EMBEDDINGS = (
    Refusal(EmptyField, "no embeddings"),
    Refusal(InvalidParameter, "values that are not finite numbers within +-1e15"),
    Refusal(WrongEmbeddingSize, "an embedding of another length than the model's"),
)
EXAMPLE = (
    Refusal(ImageIdIncorrect, "no example with this id"),
    Refusal(EmbeddedByOtherModel, "the example was embedded by another model: migrate first"),
)
MIGRATION = (
    Refusal(NotAuthenticated, "neither the `x-admin-key` nor an administrator's session"),
    Refusal(CsrfRejected, "a session without its CSRF token"),
    Refusal(AdministratorRequired, "the session's user is not an administrator"),
    Refusal(MigrationRunning, "a migration is already running"),
    Refusal(MigrationImpossible, "examples to re-embed have no stored photo"),
)
UNKNOWN_EXAMPLE = Refusal(ExampleNotFound, "no example with this id")
NOT_IDS = Refusal(InvalidParameter, "the body is not a JSON array of strings")
SUBJECT_MISSING = Refusal(MissingParameter, "no `subject` parameter")
SUBJECT_EXISTS = Refusal(SubjectAlreadyExists, "a subject of this name exists")


IMAGE_FILE = {
    "description": "The stored photo; empty when there is none (unknown id, or not kept)",
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
}
MIGRATION_STARTED = {
    "description": "The re-embedding started in the background",
    "content": {"text/plain": {"schema": {"type": "string", "const": "Migration started"}}},
}


def responses(ok: Any, status: int, refusals: Iterable[Refusal]) -> dict[int | str, Any]:
    """The success (`ok`, a `schemas` type, or None) and every refusal, grouped by status, each
    listing its codes; a 500 (a fault of facegate's own) may come from any endpoint."""
    answers: dict[int | str, Any] = {} if ok is None else {status: {"model": ok}}
    by_status: dict[int, dict[int, list[str]]] = defaultdict(lambda: defaultdict(list))
    for refusal in (*refusals, *EVERY):
        by_status[refusal.error.status][refusal.error.code].append(refusal.when)
    for refused, codes in sorted(by_status.items()):
        lines = [f"code {code}: {'; '.join(whens)}" for code, whens in sorted(codes.items())]
        answers[refused] = {
            "model": schemas.ErrorBody,
            "description": "\n\n".join(lines),
            # Beside the $ref: the codes of this status that this endpoint gives.
            "content": {
                "application/json": {"schema": {"properties": {"code": {"enum": sorted(codes)}}}}
            },
        }
    answers[500] = {
        "model": schemas.ServerFaultBody,
        "description": "A fault of facegate's own, logged with the request_id (code 0)",
    }
    return answers


def operation(
    ok: Any = None,
    *,
    status: int = 200,
    params: Sequence[dict[str, Any]] = (),
    body: dict[str, Any] | None = None,
    refusals: Iterable[Refusal] = (),
) -> dict[str, Any]:
    """Keyword arguments of a route decorator describing its parameters, body and answers: `ok`
    is the success's type (a `schemas` model).

    `response_model=None`: the model documents the answer without FastAPI validating it.
    """
    extra: dict[str, Any] = {}
    if params:
        extra["parameters"] = list(params)
    if body is not None:
        extra["requestBody"] = body
    return {
        "status_code": status,
        "response_model": None,
        "responses": responses(ok, status, refusals),
        "openapi_extra": extra,
    }


# --- the document and the page ------------------------------------------------------------------


def install(app: FastAPI) -> None:
    """Serve the description without FastAPI's 422 answers, and Swagger UI at CompreFace's path
    with its assets from this server."""
    plain = app.openapi

    def description() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _without_validation_errors(plain())
        return app.openapi_schema

    app.openapi = description  # type: ignore[method-assign]  # FastAPI's documented override
    app.mount(SWAGGER_ASSETS_PATH, StaticFiles(directory=SWAGGER_ASSETS), name="swagger-ui")

    async def swagger_page(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{SWAGGER_ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{SWAGGER_ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=SWAGGER_PARAMETERS,
        )

    app.add_api_route(SWAGGER_PAGE_PATH, swagger_page, methods=["GET"], include_in_schema=False)

    async def docs(request: Request) -> RedirectResponse:
        """FastAPI's usual address of the page, for those who try it first."""
        return RedirectResponse(f"{request.scope.get('root_path', '')}{SWAGGER_PAGE_PATH}")

    app.add_api_route("/docs", docs, methods=["GET"], include_in_schema=False)


def _without_validation_errors(document: dict[str, Any]) -> dict[str, Any]:
    """FastAPI lists a 422 on every route with a parameter; facegate never answers one
    (`api.errors.validation_error` makes it CompreFace's 400 code 26)."""
    for operations in document.get("paths", {}).values():
        for described in operations.values():
            answers = described.get("responses", {})
            if "HTTPValidationError" in str(answers.get("422", "")):
                del answers["422"]
    components = document.get("components", {}).get("schemas", {})
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return document
