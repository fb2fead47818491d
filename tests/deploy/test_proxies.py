"""facegate behind Debian's nginx and Caddy on deploy/'s configurations, as docs/deploy.md shows
them: TLS ends at the proxy, the client's address reaches the audit trail, login cookies are
Secure, and a login proxy's user header signs the web UI in, believed only from the proxy."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from facegate.db.tables import AuditEvent
from tests.support.clients import Browser, ok, refused
from tests.support.proxies import (
    AUTHELIA_ADDRESS,
    CERTIFICATE,
    FACEGATE_ADDRESS,
    PRIVATE_KEY,
    authelia,
    caddy,
    nginx,
    shipped,
    throwaway_certificate,
)
from tests.support.servers import database, free_port, serve

pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)

# The browser's address: another loopback address than nginx's own 127.0.0.1, so that what
# facegate records tells the client from the proxy.
CLIENT = "127.0.0.2"
OWNER = "owner@example.org"


def from_client(certificate: Path, **headers: str) -> dict[str, Any]:
    """httpx.Client options of a browser at CLIENT that trusts the throw-away certificate."""
    context = ssl.create_default_context(cafile=str(certificate))
    transport = httpx.HTTPTransport(local_address=CLIENT, verify=context)
    return {"transport": transport, "headers": headers}


def cookie_flags(response: httpx.Response, name: str) -> set[str]:
    """The attributes of the Set-Cookie of `name`, lower-cased (`secure`, `httponly`...)."""
    for line in response.headers.get_list("set-cookie"):
        if line.startswith(f"{name}="):
            return {part.strip().split("=")[0].lower() for part in line.split(";")[1:]}
    raise AssertionError(f"no {name} cookie in {response.headers.get_list('set-cookie')}")


def test_tls_at_nginx_forwards_the_client_and_makes_cookies_secure(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    # With the user header on, a client's own Remote-Email through nginx must sign no one in.
    settings = make_settings(trusted_proxies="127.0.0.1", trusted_user_header="Remote-Email")
    assert not settings.public_url.startswith("https://")  # Secure must come from the proxy
    certificate = throwaway_certificate(tmp_path)
    https, http = free_port(), free_port()
    with serve(settings) as url:
        site = shipped(
            "nginx.conf",
            {
                "listen 443 ssl;": f"listen 127.0.0.1:{https} ssl;",
                "listen 80;": f"listen 127.0.0.1:{http};",
                CERTIFICATE: str(certificate.certificate),
                PRIVATE_KEY: str(certificate.key),
                FACEGATE_ADDRESS: url.removeprefix("http://"),
            },
        )
        with nginx(site, tmp_path, https):
            plain = httpx.get(f"http://127.0.0.1:{http}/admin/config")
            assert plain.status_code == 301
            assert plain.headers["location"].startswith("https://")
            # The client claims another address: nginx appends the real one, which wins.
            forger = {"X-Forwarded-For": "203.0.113.66", "Remote-Email": OWNER}
            browser = Browser(
                f"https://127.0.0.1:{https}", **from_client(certificate.certificate, **forger)
            )
            ok(browser.sign_up(OWNER), 201)
            assert refused(browser.get("/admin/user/me"), 401, 1)  # the header was dropped
            logged_in = browser.login(OWNER)
            ok(logged_in)
            assert {"secure", "httponly"} <= cookie_flags(logged_in, "facegate_session")
            assert "secure" in cookie_flags(logged_in, "facegate_csrf")
            assert ok(browser.get("/admin/user/me"))["email"] == OWNER
            browser.close()
        # The same login straight to facegate, over plain http: not Secure.
        direct = Browser(url)
        assert "secure" not in cookie_flags(direct.login(OWNER), "facegate_session")
        direct.close()
    with database(settings) as sessions, sessions() as s:
        logins = s.scalars(select(AuditEvent.address).where(AuditEvent.action == "login")).all()
    assert logins == [CLIENT, "127.0.0.1"]


def test_a_login_proxy_signs_its_user_in_and_no_one_else_can(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    settings = make_settings(trusted_proxies="127.0.0.1", trusted_user_header="Remote-Email")
    certificate = throwaway_certificate(tmp_path)
    https = free_port()
    with serve(settings) as url, authelia() as verdicts:
        # The owner signs up as on any server; the e-mail is the one the login proxy sends.
        owner = Browser(url)
        ok(owner.sign_up(OWNER), 201)
        owner.close()
        site = shipped(
            "nginx-login-proxy.conf",
            {
                "listen 443 ssl;": f"listen 127.0.0.1:{https} ssl;",
                CERTIFICATE: str(certificate.certificate),
                PRIVATE_KEY: str(certificate.key),
                FACEGATE_ADDRESS: url.removeprefix("http://"),
                AUTHELIA_ADDRESS: f"127.0.0.1:{verdicts}",
            },
        )
        with nginx(site, tmp_path, https):
            base = f"https://127.0.0.1:{https}"
            # Not signed in at the proxy: its login page, whatever header the client adds.
            anonymous = httpx.Client(
                **from_client(certificate.certificate, **{"Remote-Email": OWNER})
            )
            away = anonymous.get(f"{base}/admin/user/me")
            assert away.status_code == 302
            assert away.headers["location"].startswith("https://auth.example.org/")
            # The face API keeps its keys: no login page, and the client's header goes nowhere.
            assert refused(anonymous.get(f"{base}/api/v1/recognition/subjects"), 400, 20)
            anonymous.close()

            # Signed in at the proxy as the owner: signed in here, with no password. A header
            # of the client's own naming someone else is replaced by the proxy's.
            signed_in = from_client(certificate.certificate, **{"Remote-Email": "x@example.org"})
            browser = Browser(base, cookies={"authelia_session": OWNER}, **signed_in)
            assert ok(browser.get("/admin/user/me"))["email"] == OWNER
            session = next(c for c in browser.http.cookies.jar if c.name == "facegate_session")
            assert session.secure
            # Its session is a login like any other: writes echo its CSRF token.
            renamed = browser.put(
                "/admin/user/update", {"firstName": "Proxied", "lastName": "Owner"}
            )
            assert ok(renamed)["firstName"] == "Proxied"
            browser.close()

            # Someone the proxy knows but facegate does not: nobody.
            stranger = Browser(
                base,
                cookies={"authelia_session": "stranger@example.org"},
                **from_client(certificate.certificate),
            )
            assert refused(stranger.get("/admin/user/me"), 401, 1)
            stranger.close()

        # Straight to facegate from an address that is no proxy: the header is not believed.
        forger = Browser(url, **from_client(certificate.certificate, **{"Remote-Email": OWNER}))
        assert refused(forger.get("/admin/user/me"), 401, 1)
        forger.close()
    with database(settings) as sessions, sessions() as s:
        proxied = s.execute(
            select(AuditEvent.address, AuditEvent.detail).where(AuditEvent.action == "login")
        ).all()
    assert [(address, '{"via": "proxy"}') for address, _ in proxied] == list(proxied)
    assert [address for address, _ in proxied] == [CLIENT]


def test_tls_at_caddy_forwards_the_client_and_drops_a_user_header(
    make_settings: Callable[..., Any], tmp_path: Path
) -> None:
    # With the user header on, a client's own Remote-Email through Caddy must sign no one in.
    settings = make_settings(trusted_proxies="127.0.0.1", trusted_user_header="Remote-Email")
    certificate = throwaway_certificate(tmp_path)
    https = free_port()
    with serve(settings) as url:
        site = shipped(
            "Caddyfile",
            {
                "facegate.example.org {": f"https://127.0.0.1:{https} {{\n\ttls "
                f"{certificate.certificate} {certificate.key}",
                FACEGATE_ADDRESS: url.removeprefix("http://"),
            },
        )
        with caddy(site, tmp_path, https):
            forger = from_client(
                certificate.certificate,
                **{"X-Forwarded-For": "203.0.113.66", "Remote-Email": OWNER},
            )
            browser = Browser(f"https://127.0.0.1:{https}", **forger)
            ok(browser.sign_up(OWNER), 201)
            assert refused(browser.get("/admin/user/me"), 401, 1)  # the header was dropped
            logged_in = browser.login(OWNER)
            ok(logged_in)
            assert {"secure", "httponly"} <= cookie_flags(logged_in, "facegate_session")
            browser.close()
    with database(settings) as sessions, sessions() as s:
        logins = s.scalars(select(AuditEvent.address).where(AuditEvent.action == "login")).all()
    assert logins == [CLIENT]
