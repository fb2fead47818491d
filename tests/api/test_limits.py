"""Limits a public server needs, over real HTTP: header size and count, a body that stops
arriving, and POST /api/v1/migrate for administrators only (decisions.md D12)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.support import ADMIN_KEY
from tests.support.clients import Browser, ok, refused
from tests.support.servers import create_service, serve

# Only the server's side of the wire is under test; one database is enough.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
# These tests judge answers, not speed: on a 2-core machine running the suite in parallel, an
# instant 401 once waited past httpx's default 5 s.
SLOW = 30


def _refusal(url: str, headers: list[tuple[str, str]]) -> str:
    """The status line answered to a GET with `headers`, or "reset" when the server closed the
    connection while they were still being sent (it answered 400 and stopped reading)."""
    address = urlsplit(url)
    head = "GET /healthz HTTP/1.1\r\nHost: x\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n"
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        try:
            sock.sendall(head.encode())
            return sock.recv(65536).split(b"\r\n")[0].decode()
        except (ConnectionResetError, BrokenPipeError):
            return "reset"


@pytest.mark.parametrize(
    "headers",
    [[("x-big", "a" * 1024**2)], [(f"x-h{i}", "v") for i in range(5000)]],
    ids=["1 MB header", "5000 headers"],
)
def test_huge_heads_are_refused(settings: Any, headers: list[tuple[str, str]]) -> None:
    with serve(settings) as url:
        answer = _refusal(url, headers)
        # The server carries on. As long a wait as the refused request's: on a loaded CI
        # machine httpx's default 5 s once ran out before the answer came.
        assert httpx.get(f"{url}/healthz", timeout=SLOW).status_code == 200
    # The parser stops buffering past its limit (400, or a reset while the client still
    # sends); a head that arrived whole within one read reaches HeaderLimit (431).
    assert answer in (
        "HTTP/1.1 400 Bad Request",
        "HTTP/1.1 431 Request Header Fields Too Large",
        "reset",
    )


@pytest.mark.parametrize(
    "headers",
    [
        [(f"x-h{i}", "v") for i in range(101)],  # tiny, but one more than max_header_count
        [("x-big", "a" * 9000)],  # over max_header_size, within what the parser buffers
    ],
    ids=["count", "size"],
)
def test_headers_over_the_settings_get_431_with_the_json_body(
    settings: Any, headers: list[tuple[str, str]]
) -> None:
    with serve(settings) as url:
        response = httpx.get(f"{url}/api/v1/recognition/subjects", headers=headers, timeout=SLOW)
        assert httpx.get(f"{url}/healthz", timeout=SLOW).status_code == 200  # the server carries on
    assert response.status_code == 431
    body = response.json()
    assert body["code"] == 0 and body["message"].startswith("Request header fields too large")


def test_headers_within_the_settings_pass(make_settings: Callable[..., Any]) -> None:
    settings = make_settings(max_header_count=200, max_header_size="16KB")
    headers = [(f"x-h{i}", "v") for i in range(150)]
    with serve(settings) as url:
        # Past the limits: to the key check, which answers for a missing key.
        response = httpx.get(f"{url}/api/v1/recognition/subjects", headers=headers, timeout=SLOW)
    assert response.json() == {"message": "Missing header: x-api-key", "code": 20}


def _stalled_request(
    url: str, path: str, content_type: str, start: bytes, key: str
) -> tuple[bytes, bytes]:
    """Send headers announcing 1,000 bytes and only the `start` of them; return the answer and
    what the socket reads after it (b"" once the server has closed the connection)."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: {content_type}\r\n"
            f"x-api-key: {key}\r\nContent-Length: 1000\r\n\r\n"
        )
        sock.sendall(head.encode() + start)
        answer = b""
        while b"\r\n\r\n" not in answer or not answer.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        after = sock.recv(65536)
    return answer, after


MULTIPART_START = b'--x\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nab'


@pytest.mark.parametrize(
    ("path", "content_type", "start"),
    [
        ("/api/v1/recognition/faces?subject=a", "multipart/form-data; boundary=x", MULTIPART_START),
        ("/api/v1/recognition/subjects", "application/json", b'{"subject": "a'),
        ("/admin/login", "application/json", b'{"email": "a'),  # a body FastAPI parses itself
    ],
    ids=["multipart", "json", "admin"],
)
def test_a_body_that_stops_arriving_gets_408_and_a_closed_connection(
    make_settings: Callable[..., Any], path: str, content_type: str, start: bytes
) -> None:
    # A short timeout keeps the test quick; the socket's own 30 s timeout fails it if the
    # server never answers.
    settings = make_settings(request_body_timeout=0.3)
    with serve(settings) as url:
        key = create_service(settings, "recognition")  # so the handler goes on to the body
        answer, after = _stalled_request(url, path, content_type, start, key)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), answer
    assert b"connection: close" in head.lower()
    assert body == b'{"message":"The request body stopped arriving","code":0}'
    assert after == b""


# --- POST /api/v1/migrate: administrators only -------------------------------------------------


def test_migrate_without_an_administrator_is_refused(settings: Any) -> None:
    with serve(settings) as url:
        anonymous = httpx.post(f"{url}/api/v1/migrate", timeout=SLOW)
        wrong_key = httpx.post(
            f"{url}/api/v1/migrate", headers={"x-admin-key": "nope" * 5}, timeout=SLOW
        )
        browser = Browser(url)
        try:
            ok(browser.sign_up("owner@example.com"), 201)
            ok(browser.sign_up("user@example.com"), 201)
            browser.login("user@example.com")
            as_user = browser.post("/api/v1/migrate")
        finally:
            browser.close()
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "message": "Log in as an administrator, or send the x-admin-key header",
        "code": 1,
    }
    assert refused(wrong_key, 401, 1) == "Wrong x-admin-key"
    assert refused(as_user, 403, 9) == "Only an administrator may do this"


def test_migrate_by_an_administrator_runs(settings: Any) -> None:
    with serve(settings) as url:
        by_key = httpx.post(
            f"{url}/api/v1/migrate", headers={"x-admin-key": ADMIN_KEY}, timeout=SLOW
        )
        assert (by_key.status_code, by_key.text) == (200, "Migration started")
        browser = Browser(url)
        try:
            ok(browser.sign_up("owner@example.com"), 201)
            browser.login("owner@example.com")
            # A session is a cookie, so it must echo its CSRF token like any /admin write.
            forged = browser.http.post("/api/v1/migrate")
            by_owner = browser.post("/api/v1/migrate")
        finally:
            browser.close()
    assert refused(forged, 403, 1) == "Missing or invalid CSRF token"
    # Past the check: a migration with nothing to re-embed, or the first one still finishing.
    assert (by_owner.status_code, by_owner.text) in [
        (200, "Migration started"),
        (400, '{"message":"Migration already executing","code":27}'),
    ]


def test_no_admin_key_setting_accepts_no_key(make_settings: Callable[..., Any]) -> None:
    with serve(make_settings(admin_key=None)) as url:
        response = httpx.post(
            f"{url}/api/v1/migrate", headers={"x-admin-key": ADMIN_KEY}, timeout=SLOW
        )
    assert refused(response, 401, 1) == "Wrong x-admin-key"
