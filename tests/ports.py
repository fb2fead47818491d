"""A free TCP port on the loopback address, for servers the tests start."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port the OS just handed out; it stays free for the short moment a test needs."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
