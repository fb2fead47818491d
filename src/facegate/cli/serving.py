"""What `facegate serve` says when it starts: where to find it and what it runs on."""

from __future__ import annotations

import socket
from importlib.metadata import version

from facegate.cli.options import public_database_url
from facegate.config import Settings
from facegate.engine import runtime

EVERY_ADDRESS = ("0.0.0.0", "::", "")


def banner(settings: Settings, *, host: str, port: int, workers: int) -> str:
    """The lines printed before the server starts listening."""
    if host in EVERY_ADDRESS:
        where = f"http://{socket.gethostname()}:{port}/ (every address of this machine)"
    else:
        shown = f"[{host}]" if ":" in host else host
        where = f"http://{shown}:{port}/"
        if host in ("127.0.0.1", "localhost", "::1"):
            where += " (this machine only; --host 0.0.0.0 for other hosts)"
    device = ", ".join(
        provider if isinstance(provider, str) else provider[0]
        for provider in runtime.providers(settings.device, openvino_device=settings.openvino_device)
    )
    rows = [
        ("web UI and API", where),
        ("data dir", str(settings.data_dir.resolve())),
        ("database", public_database_url(settings)),
        ("model", f"{settings.model} on {device}"),
        ("search backend", settings.search_backend),
        ("workers", str(workers)),
    ]
    return "\n".join([f"facegate {version('facegate')}"] + [f"  {k + ':':<16}{v}" for k, v in rows])
