"""Helpers for the admin API tests: a real HTTP server on a fake engine, a browser-like client,
a real SMTP server that keeps what it receives."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from typing import Any, ClassVar

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from facegate.app import create_app
from facegate.config import Settings
from facegate.engine.faces import Analysis
from facegate.engine.similarity import Scale
from ports import free_port

CSRF_COOKIE = "facegate_csrf"
SESSION_COOKIE = "facegate_session"
PASSWORD = "correct horse battery"


class FakeEngine:
    """Stands in for the face models: the admin API never runs them."""

    model = "fake"
    licence = "none"
    calculator_id = "fake-calculator"
    scale = Scale(c0=1.0, c1=1.0)
    plugins_versions: ClassVar[dict[str, str]] = {}

    def analyze(self, image: bytes, **_options: Any) -> Analysis:
        return Analysis(faces=[])


@contextmanager
def serve(settings: Settings, *, port: int | None = None) -> Iterator[str]:
    """create_app(settings) on the fake engine under uvicorn in a thread; yields the base URL.
    `port` when the settings must name it (public_url, for e-mailed links)."""
    # Imported here: a module-level import would load api_fixtures before the API tests
    # register it as a plugin, and pytest could then not rewrite its asserts.
    from api_fixtures import LiveServer

    with LiveServer(create_app(settings, engine=FakeEngine()), port) as server:
        yield server.url


class Browser:
    """What the web page does: keeps cookies, echoes the CSRF cookie in X-CSRF-Token on writes."""

    def __init__(self, base_url: str) -> None:
        self.url = base_url
        self.http = httpx.Client(base_url=base_url, follow_redirects=False, timeout=60)
        self.get("/admin/config")

    def close(self) -> None:
        self.http.close()

    @property
    def session_id(self) -> str | None:
        return self.http.cookies.get(SESSION_COOKIE)

    def request(self, method: str, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if method != "GET" and CSRF_COOKIE in self.http.cookies:
            headers.setdefault("X-CSRF-Token", self.http.cookies[CSRF_COOKIE])
        return self.http.request(method, path, json=json, headers=headers, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> httpx.Response:
        return self.request("PUT", path, json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", path, **kwargs)

    def sign_up(self, email: str, first: str = "Ann", last: str = "Lee") -> httpx.Response:
        body = {"email": email, "password": PASSWORD, "firstName": first, "lastName": last}
        return self.post("/admin/user/register", body)

    def login(self, email: str, password: str = PASSWORD) -> httpx.Response:
        return self.post("/admin/login", {"email": email, "password": password})


def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body of an expected success, with the body in the failure message otherwise."""
    assert response.status_code == status, (response.status_code, response.text)
    return response.json() if response.content else None


def refused(response: httpx.Response, status: int, code: int) -> str:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), (response.status_code, body)
    message: str = body["message"]
    return message


class Mailbox:
    """An aiosmtpd handler keeping every message it accepts."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.arrived = threading.Condition()

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.content
        assert isinstance(content, bytes)
        with self.arrived:
            self.messages.append(message_from_bytes(content))
            self.arrived.notify_all()
        return "250 Message accepted for delivery"

    def text(self, index: int = -1) -> str:
        """A received message's plain text."""
        payload = self.messages[index].get_payload(decode=True)
        assert isinstance(payload, bytes)
        return payload.decode()

    def link(self, index: int = -1) -> str:
        """The http link in a received message's text."""
        found = re.search(r"https?://\S+", self.text(index))
        assert found, self.text(index)
        return found.group(0)


@contextmanager
def smtp_server() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()
