"""What a test does when something outside Python it needs is missing (PostgreSQL, the MQTT
broker, chromium, nginx, Caddy, systemd, TypeScript's tsc, the shared photos): skipped with the
reason on a contributor's machine, failed where FACEGATE_TEST_REQUIRE names it, as .ci/run does
with `all`, so CI never passes by skipping (docs/decisions.md D53)."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import NoReturn

import pytest

REQUIRE = "FACEGATE_TEST_REQUIRE"
# Every name FACEGATE_TEST_REQUIRE may hold (besides `all`).
SERVICES = frozenset({"postgres", "mqtt", "chromium", "nginx", "caddy", "systemd", "tsc", "shared"})


def required(service: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether a missing `service` fails the test: FACEGATE_TEST_REQUIRE is `all` or a
    comma-separated list of SERVICES naming it. A name outside SERVICES is refused, so a typo
    cannot turn a requirement into a skip."""
    names = {part.strip() for part in environ.get(REQUIRE, "").split(",") if part.strip()}
    unknown = names - SERVICES - {"all"}
    if unknown:
        raise pytest.UsageError(
            f"{REQUIRE}={environ[REQUIRE]!r}: unknown {sorted(unknown)}; "
            f"use `all` or some of {sorted(SERVICES)}"
        )
    assert service in SERVICES, service
    return "all" in names or service in names


def unavailable(service: str, reason: str) -> NoReturn:
    """Skip the test for want of `service`, or fail it if `service` is required."""
    if required(service):
        pytest.fail(f"{reason} ({REQUIRE} requires {service})", pytrace=False)
    pytest.skip(f"{reason} (missing {service}; {REQUIRE}=all fails instead)")


def require_broker(address: tuple[str, int]) -> None:
    """The MQTT broker the tests publish to answers on `address`, or the test goes."""
    try:
        socket.create_connection(address, timeout=2).close()
    except OSError as exc:
        unavailable("mqtt", f"no MQTT broker at {address[0]}:{address[1]} ({exc})")
