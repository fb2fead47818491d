"""ASGI middleware: server faults, limits on headers, body size and body pace, retries of
writes with an Idempotency-Key, and CompreFace's CORS answer on /api/v1."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import timedelta

import anyio
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from facegate.api.errors import error_response, server_fault
from facegate.collection import idempotency
from facegate.errors import (
    FacegateError,
    HeadersTooLarge,
    IdempotencyKeyInFlight,
    InvalidParameter,
    RequestTimedOut,
    RequestTooLarge,
)

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


class HeaderLimit:
    """Refuse requests with more than `max_count` header fields, or fields over `max_bytes` in
    all (counted as sent: `name: value` and CRLF), with 431. The HTTP parser bounds what it
    buffers before this runs (`facegate.app.server_options`); this gives the JSON answer and
    the exact limit."""

    def __init__(self, app: ASGIApp, *, max_bytes: int, max_count: int) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_count = max_count

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            fields: list[tuple[bytes, bytes]] = scope["headers"]
            size = sum(len(name) + len(value) + 4 for name, value in fields)
            if len(fields) > self.max_count or size > self.max_bytes:
                error = HeadersTooLarge(
                    f"Request header fields too large: {len(fields)} fields, {size} bytes; the "
                    f"maximum is {self.max_count} fields, {self.max_bytes} bytes"
                )
                await error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)


class BodyTimeout:
    """Answer 408 and close the connection when the next part of a request body does not
    arrive within `seconds`, instead of holding the connection (and a worker) for ever.

    The 408 is sent from here, whatever the handler makes of the missing body: to the app the
    body simply ends with a disconnect, and whatever it answers then is dropped."""

    def __init__(self, app: ASGIApp, *, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = timed_out = started = False

        async def paced() -> Message:
            nonlocal body_done, timed_out
            if body_done or timed_out:  # afterwards the app only listens for a disconnect
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                timed_out = True
                return {"type": "http.disconnect"}
            body_done = message["type"] != "http.request" or not message.get("more_body")
            return message

        async def unless_timed_out(message: Message) -> None:
            nonlocal started
            if timed_out:
                return
            started = True
            await send(message)

        try:
            await self.app(scope, paced, unless_timed_out)
        except Exception:
            if not timed_out:
                raise
        if timed_out and not started:
            await error_response(RequestTimedOut())(scope, receive, send)


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
    """`/api/v1/x/` is `/api/v1/x`, as Spring matches it (the seed's own snippets add the slash).

    Only slashes the client wrote count, not an encoded one (`%2F`) that ends a subject's name:
    `DELETE /subjects/%2F` stripped to `DELETE /subjects` would delete every subject."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] == "http" and path.startswith(API_PREFIX) and path.endswith("/"):
            raw: bytes = scope.get("raw_path") or path.encode()
            written = len(raw) - len(raw.rstrip(b"/"))
            if written:
                scope = {**scope, "path": path[:-written], "raw_path": raw[:-written]}
        await self.app(scope, receive, send)


# The collection writes (add, delete, rename; name or dismiss a cluster of unknown faces): POST,
# PUT and DELETE under these paths, except verifying a photo against an example, which writes
# nothing.
_COLLECTION_WRITE = re.compile(r"^/api/v1/recognition/(faces|subjects|unknown-faces)(/.*)?$")
_WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces
_PURGE_EVERY_SECONDS = 3600.0


class Idempotency:
    """A collection write with an `Idempotency-Key` header runs once per key and API key within
    `ttl`: a retry gets the first answer (status and body) and `Idempotent-Replayed: true`; a
    retry while the first still runs gets 409 (decisions.md D14). Only successful answers are
    kept: a failed write changed nothing, so its retry runs again."""

    def __init__(self, app: ASGIApp, *, ttl_seconds: int) -> None:
        self.app = app
        self.ttl = timedelta(seconds=ttl_seconds)
        self._next_purge = 0.0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = Headers(scope=scope) if scope["type"] == "http" else Headers()
        key = headers.get("idempotency-key")
        api_key = headers.get("x-api-key")
        if (
            key is None
            or api_key is None  # the handler answers 400 code 20 for it
            or scope["method"] not in _WRITE_METHODS
            or not _COLLECTION_WRITE.match(scope["path"])
            or scope["path"].endswith("/verify")
        ):
            await self.app(scope, receive, send)
            return
        if not _KEY.match(key):
            error = InvalidParameter("Idempotency-Key must be 1 to 255 printable ASCII characters")
            await error_response(error)(scope, receive, send)
            return
        sessions: sessionmaker[Session] = scope["app"].state.sessions
        owner = idempotency.digest(api_key)
        request = idempotency.digest(
            f"{scope['method']} {scope['path']}?{scope['query_string'].decode('latin-1')}"
        )
        try:
            answer = await run_in_threadpool(self._claim, sessions, owner, key, request)
        except FacegateError as error:
            await error_response(error)(scope, receive, send)
            return
        if answer is not None:
            replay = Response(
                answer.body,
                status_code=answer.status,
                media_type=answer.content_type or None,
                headers={"Idempotent-Replayed": "true"},
            )
            await replay(scope, receive, send)
            return
        await self._run(scope, receive, send, sessions, owner, key)

    def _claim(
        self, sessions: sessionmaker[Session], owner: str, key: str, request: str
    ) -> idempotency.Answer | None:
        try:
            with sessions.begin() as s:
                if time.monotonic() >= self._next_purge:
                    self._next_purge = time.monotonic() + _PURGE_EVERY_SECONDS
                    idempotency.purge(s, ttl=self.ttl)
                return idempotency.claim(s, scope=owner, key=key, request=request, ttl=self.ttl)
        except IntegrityError:  # another process or thread claimed the key at this moment
            raise IdempotencyKeyInFlight from None

    async def _run(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        sessions: sessionmaker[Session],
        owner: str,
        key: str,
    ) -> None:
        status = 0
        content_type = ""
        chunks: list[bytes] = []
        settled = False

        def settle(answered: bool) -> None:
            with sessions.begin() as s:
                if answered and 200 <= status < 300:
                    answer = idempotency.Answer(status, content_type, b"".join(chunks))
                    idempotency.store(s, scope=owner, key=key, answer=answer)
                else:
                    idempotency.release(s, scope=owner, key=key)

        async def settled_once(answered: bool) -> None:
            nonlocal settled
            if not settled:
                settled = True
                # Even when the request is cancelled: a key left held would answer 409.
                with anyio.CancelScope(shield=True):
                    await run_in_threadpool(settle, answered)

        async def recording(message: Message) -> None:
            nonlocal status, content_type
            if message["type"] == "http.response.start":
                status = message["status"]
                content_type = Headers(raw=message.get("headers", [])).get("content-type", "")
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    # Stored before the client sees the end of the answer, so a retry sent
                    # the moment it arrives is replayed, not refused as still in flight.
                    await settled_once(True)
            await send(message)

        try:
            await self.app(scope, receive, recording)
        finally:
            await settled_once(False)
