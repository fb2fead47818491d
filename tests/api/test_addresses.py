"""facegate.api.addresses: the client's address, from forwarding headers only through trusted
proxies; and the login throttle and the audit trail counting it, over real HTTP."""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import ip_network
from typing import Any

import pytest
from sqlalchemy import Engine, select
from starlette.datastructures import Headers

from facegate.api.addresses import client_address, forwarded_proto
from facegate.config import Settings
from facegate.db.tables import AuditEvent, LoginFailure
from tests.support.clients import Browser, ok, refused
from tests.support.servers import serve

PROXIES = [ip_network("10.0.0.0/8"), ip_network("2001:db8::/32")]


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("203.0.113.9", {}, "203.0.113.9"),
        # Not a trusted proxy: whatever it writes is not believed.
        ("203.0.113.9", {"x-forwarded-for": "198.51.100.1"}, "203.0.113.9"),
        ("10.0.0.2", {"x-forwarded-for": "198.51.100.1"}, "198.51.100.1"),
        # A client's own header only adds hops on the left, past the first untrusted one.
        ("10.0.0.2", {"x-forwarded-for": "1.2.3.4, 198.51.100.1"}, "198.51.100.1"),
        # Two proxies of ours, one after the other.
        ("10.0.0.2", {"x-forwarded-for": "198.51.100.1, 10.0.0.3"}, "198.51.100.1"),
        ("10.0.0.2", {"x-forwarded-for": "garbage"}, "10.0.0.2"),
        ("10.0.0.2", {}, "10.0.0.2"),
        (
            "10.0.0.2",
            {"forwarded": 'for="[2001:db8:cafe::17]:4711";proto=https'},
            "2001:db8:cafe::17",
        ),
        ("10.0.0.2", {"forwarded": "for=192.0.2.60:80, for=10.1.1.1"}, "192.0.2.60"),
        ("10.0.0.2", {"forwarded": "for=unknown"}, "10.0.0.2"),
        # RFC 7239 first: X-Forwarded-For is not read beside it.
        ("10.0.0.2", {"forwarded": "for=192.0.2.60", "x-forwarded-for": "1.2.3.4"}, "192.0.2.60"),
        (None, {"x-forwarded-for": "1.2.3.4"}, None),
    ],
)
def test_client_address(peer: str | None, headers: dict[str, str], expected: str | None) -> None:
    assert client_address(peer, Headers(headers), PROXIES) == expected


def test_no_proxy_is_trusted_by_default() -> None:
    assert Settings().trusted_networks == ()
    assert client_address("10.0.0.2", Headers({"x-forwarded-for": "1.2.3.4"}), ()) == "10.0.0.2"


def test_a_bad_proxy_setting_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        Settings(trusted_proxies="10.0.0.0/8, proxy.example.com")


@pytest.mark.parametrize(
    ("peer", "headers", "expected"),
    [
        ("10.0.0.2", {"x-forwarded-proto": "https"}, "https"),
        ("10.0.0.2", {"x-forwarded-proto": "HTTP"}, "http"),
        # Not a trusted proxy: a client cannot make its own cookies Secure or plain.
        ("203.0.113.9", {"x-forwarded-proto": "https"}, None),
        (None, {"x-forwarded-proto": "https"}, None),
        ("10.0.0.2", {}, None),
        # The nearest proxy's word is the last one.
        ("10.0.0.2", {"x-forwarded-proto": "http, https"}, "https"),
        ("10.0.0.2", {"forwarded": 'for=192.0.2.60;proto="https"'}, "https"),
        # RFC 7239 first, as for the address.
        ("10.0.0.2", {"forwarded": "for=192.0.2.60", "x-forwarded-proto": "https"}, None),
    ],
)
def test_forwarded_proto(peer: str | None, headers: dict[str, str], expected: str | None) -> None:
    assert forwarded_proto(peer, Headers(headers), PROXIES) == expected


def test_a_user_header_without_trusted_proxies_refuses_to_start() -> None:
    with pytest.raises(ValueError, match="trusted_user_header needs trusted_proxies"):
        Settings(trusted_user_header="Remote-Email")
    assert Settings(trusted_user_header="Remote-Email", trusted_proxies="127.0.0.1")
    with pytest.raises(ValueError, match="pattern"):
        Settings(trusted_user_header="Remote Email", trusted_proxies="127.0.0.1")


@pytest.mark.parametrize(("trusted", "counted"), [("", "127.0.0.1"), ("127.0.0.1/32", "1.2.3.4")])
def test_failed_logins_count_against_the_forwarded_address_of_a_trusted_proxy(
    make_settings: Callable[..., Any], db_engine: Engine, trusted: str, counted: str
) -> None:
    with serve(make_settings(trusted_proxies=trusted)) as url:
        b = Browser(url)
        ok(b.sign_up("ann@example.com"), 201)
        forwarded = {"x-forwarded-for": "1.2.3.4"}
        refused(
            b.post(
                "/admin/login", {"email": "ann@example.com", "password": "no"}, headers=forwarded
            ),
            400,
            0,
        )
        b.close()
    with db_engine.connect() as connection:
        keys = set(connection.scalars(select(LoginFailure.key)))
        addresses = set(connection.scalars(select(AuditEvent.address)))
    assert f"address:{counted}" in keys
    assert counted in addresses
