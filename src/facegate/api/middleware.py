"""ASGI middleware: server faults, the request size limit, CompreFace's CORS answer on /api/v1."""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate.api.errors import error_response, server_fault
from facegate.errors import RequestTooLarge

API_PREFIX = "/api/v1"
# What CompreFace's nginx adds on /api/v1 (ui/nginx/templates/nginx.conf.template).
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS, PUT, DELETE",
    "Access-Control-Allow-Headers": (
        "DNT,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,Range,"
        "x-api-key"
    ),
    "Access-Control-Expose-Headers": "Content-Length,Content-Range",
}


class ServerFaults:
    """A 500 with CompreFace's body for an exception no handler took, logged once.

    Instead of an exception handler for `Exception`: Starlette's ServerErrorMiddleware calls such
    a handler and then re-raises the exception, so uvicorn logged every traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception as exc:
            if started:  # too late to answer: uvicorn logs it and closes the connection
                raise
            await server_fault(exc, f"{scope['method']} {scope['path']}")(scope, receive, send)


class BodyLimit:
    """Refuse bodies over `max_bytes` with 413 before reading them, or as soon as they pass it."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            await error_response(RequestTooLarge())(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:  # chunked uploads announce no length
                raise RequestTooLarge()
            return message

        await self.app(scope, counted, send)


class ApiCors:
    """Any origin may call /api/v1 with `x-api-key`; preflights get 204, like CompreFace's nginx."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(API_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS":
            headers = {**CORS_HEADERS, "Access-Control-Max-Age": "1728000"}
            await Response(status_code=204, headers=headers)(scope, receive, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in CORS_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, with_cors)


class TrailingSlash:
    """`/api/v1/x/` is `/api/v1/x`, as Spring matches it (the seed's own snippets add the slash)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(API_PREFIX) and path.endswith("/"):
            scope = {**scope, "path": path.rstrip("/")}
        await self.app(scope, receive, send)
