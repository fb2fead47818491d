"""The one place errors become HTTP: CompreFace's `{"message", "code"}` body for every failure."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from facegate.errors import FacegateError, InvalidParameter

log = logging.getLogger(__name__)


def error_response(error: FacegateError, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """The error's `{"message", "code"}` body with its status and headers: every failure is
    shaped here."""
    return JSONResponse(
        error.body(), status_code=error.status, headers={**error.headers(), **(headers or {})}
    )


def server_fault(exc: Exception, request: str) -> JSONResponse:
    """The 500 for a fault of facegate's own (never a client's input) in `request` ("GET /x"):
    logged here, once, with the request id that the body carries too, so that a user's report
    leads to the traceback."""
    request_id = uuid.uuid4().hex
    log.error("unhandled error in %s, request_id=%s", request, request_id, exc_info=exc)
    body = FacegateError(status=500).body() | {"request_id": request_id}
    return JSONResponse(body, status_code=500)


async def facegate_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FacegateError)
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    # CompreFace answers an unknown path with a 500 and a wrong method with a 404; we answer the
    # right status with the usual body (decisions.md D5).
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"No handler found for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Request method '{request.method}' not supported"
    else:
        message = str(exc.detail)
    return error_response(FacegateError(message, status=exc.status_code), exc.headers)


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return error_response(InvalidParameter(f"{where}: {first.get('msg', 'invalid value')}; "))


def install(app: FastAPI) -> None:
    app.add_exception_handler(FacegateError, facegate_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
