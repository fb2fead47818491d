"""The one place errors become HTTP: CompreFace's `{"message", "code"}` body for every failure."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from facegate.errors import FacegateError

log = logging.getLogger(__name__)


def error_response(status: int, message: str, code: int) -> JSONResponse:
    return JSONResponse({"message": message, "code": code}, status_code=status)


async def facegate_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FacegateError)
    return error_response(exc.status, exc.message, exc.code)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    # CompreFace answers an unknown path with a 500 and a wrong method with a 404; we answer the
    # right status with the usual body (API.md decision 5).
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        message = f"No handler found for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"Request method '{request.method}' not supported"
    else:
        message = str(exc.detail)
    return JSONResponse(
        {"message": message, "code": 0}, status_code=exc.status_code, headers=exc.headers
    )


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    first = exc.errors()[0] if exc.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    return error_response(400, f"{where}: {first.get('msg', 'invalid value')}; ", 26)


async def unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, FacegateError.default_message, 0)


def install(app: FastAPI) -> None:
    app.add_exception_handler(FacegateError, facegate_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(Exception, unexpected_error)
