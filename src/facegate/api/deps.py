"""Named dependencies: what handlers receive from the app's lifespan and from each request."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection

from facegate import face_services
from facegate.api.addresses import client_address
from facegate.api.params import (
    Params,
    image_from_base64,
    image_from_upload,
    json_object,
)
from facegate.collection import flags
from facegate.config import Settings
from facegate.db.tables import Service
from facegate.errors import (
    BadApiKey,
    BadRequest,
    MissingApiKey,
    ServiceNotFound,
    WritesDuringMigration,
)
from facegate.inference import Image, Inference

if TYPE_CHECKING:
    from facegate.collection.recognition import Recognitions
    from facegate.collection.search import Search

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_inference(request: Request) -> Inference:
    inference: Inference = request.app.state.inference
    return inference


def get_index(request: Request) -> Search:
    index: Search = request.app.state.index
    return index


def get_recognitions(request: Request) -> Recognitions:
    recognitions: Recognitions = request.app.state.recognitions
    return recognitions


def get_session(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back on error."""
    factory: sessionmaker[Session] = request.app.state.sessions
    with factory() as session:
        try:
            yield session
        except BaseException:
            session.rollback()
            raise
        session.commit()


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_client_address(request: Request) -> str | None:
    """The client's address, read through trusted proxies only (api/addresses.py)."""
    settings: Settings = request.app.state.settings
    peer = request.client.host if request.client else None
    return client_address(peer, request.headers, settings.trusted_networks)


ClientAddress = Annotated[str | None, Depends(get_client_address)]
InferenceDep = Annotated[Inference, Depends(get_inference)]
IndexDep = Annotated["Search", Depends(get_index)]
RecognitionsDep = Annotated["Recognitions", Depends(get_recognitions)]
# scope="function": commit BEFORE the response is sent, so a client that got 201 can rely on it.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


class _ApiKey(APIKeyHeader):
    """`x-api-key` as sent, an empty value included: CompreFace answers an empty key as a bad
    one (26), a missing header as missing (20), where APIKeyHeader reads both as missing."""

    async def __call__(self, request: HTTPConnection) -> str | None:
        return request.headers.get(self.model.name)


def _service_of(kind: str) -> Callable[[Session, str | None], Service]:
    """The service named by `x-api-key`, checked as CompreFace's SecurityValidationFilter does.

    The header is read through a security scheme of the service's type, so that the OpenAPI
    description shows which key each endpoint takes; `auto_error=False` leaves the refusals to
    this function (CompreFace's codes, not FastAPI's 401)."""
    header = _ApiKey(
        name="x-api-key",
        scheme_name=f"{kind}_key",
        description=f"The API key of a {kind} service (a UUID; the web UI shows it)",
        auto_error=False,
    )

    # A default, not Annotated: the annotations are strings that cannot name this local.
    def dependency(session: SessionDep, key: str | None = Security(header)) -> Service:
        if key is None:
            raise MissingApiKey()
        if not _UUID.fullmatch(key):
            raise BadApiKey()
        service = face_services.service_by_key(session, api_key=key, type=kind)
        if service is None:
            raise ServiceNotFound(kind, key)
        # End the read transaction: the request may now queue for inference, and must not hold
        # a pooled connection meanwhile (16 waiting requests would exhaust the pool).
        session.commit()
        return service

    return dependency


RecognitionService = Annotated[Service, Depends(_service_of("recognition"))]
DetectionService = Annotated[Service, Depends(_service_of("detection"))]
VerificationService = Annotated[Service, Depends(_service_of("verification"))]


def _writable(service: RecognitionService, session: SessionDep) -> Service:
    """The service, for a collection write: refused while /api/v1/migrate re-embeds (code 32)."""
    if flags.flag_is_set(session, name=flags.MIGRATION_FLAG):
        raise WritesDuringMigration()
    session.commit()  # as in _service_of: no connection held while waiting for inference
    return service


# A recognition service whose collection the handler changes.
WritableService = Annotated[Service, Depends(_writable)]


@dataclass
class Body:
    """A request's parameters and payload: multipart form or base64 JSON."""

    params: Params
    form: FormData | None = None
    json: Any = None

    def image(self, part: str = "file", java_name: str = "content") -> Image:
        """The image in multipart part `part`, or base64 JSON field `part`."""
        if self.form is not None:
            return image_from_upload(self.form.get(part), part)
        return image_from_base64(json_object(self.json), part, java_name)


async def read_body(request: Request, settings: SettingsDep) -> AsyncIterator[Body]:
    """Parse the body once: JSON when the client says so, multipart (or nothing) otherwise."""
    query = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json"):
        raw = await request.body()
        try:
            payload = json.loads(raw, parse_constant=_not_json) if raw.strip() else None
        except ValueError:  # UnicodeDecodeError and integers of over 4,300 digits among them
            raise BadRequest("The request body is not valid JSON") from None
        except RecursionError:  # the parser recurses once per level of nesting
            raise BadRequest("The request body is nested too deeply") from None
        yield Body(Params(query), json=payload)
        return
    if not content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        yield Body(Params(query), form=FormData())
        return
    form = await request.form(max_part_size=settings.max_request_size)
    try:
        fields = [(k, v) for k, v in form.multi_items() if isinstance(v, str)]
        yield Body(Params(query + fields), form=form)
    finally:
        await form.close()  # uploads spool to temporary files


def _not_json(constant: str) -> None:
    """`NaN`, `Infinity` and `-Infinity`: Python's parser takes them, JSON (and Jackson, which
    CompreFace parses with) does not."""
    raise ValueError(f"{constant} is not JSON")


BodyDep = Annotated[Body, Depends(read_body)]
