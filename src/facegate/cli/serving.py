"""What `facegate serve` says when it starts (where to find it, what it runs on), how its
workers share the cores, and how it sets up its processes' memory allocator."""

from __future__ import annotations

import ctypes
import gc
import os
import platform
import socket
from importlib.metadata import version

from facegate.cli.options import public_database_url
from facegate.config import Settings
from facegate.engine import runtime

EVERY_ADDRESS = ("0.0.0.0", "::", "")
# glibc gives a thread that allocates while another does an arena of its own, up to 8 per core,
# and each arena keeps what it once held: a server's request threads took about 90 to 130 MiB
# that way under 8 clients. Two arenas cost no measurable speed (decisions.md D88).
MALLOC_ARENAS = 2
ARENA_MAX_VARIABLE = "MALLOC_ARENA_MAX"
M_ARENA_MAX = -8  # mallopt's parameter number, glibc's malloc.h


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
        ("analyses at once", f"{settings.max_concurrent_inferences} per process"),
    ]
    return "\n".join([f"facegate {version('facegate')}"] + [f"  {k + ':':<16}{v}" for k, v in rows])


def share_cores(settings: Settings, workers: int) -> Settings:
    """The settings of each of `workers` processes: one analysis per core in all (decisions.md
    D93), so the cores are divided among the workers, unless the operator named a number."""
    if workers == 1 or "max_concurrent_inferences" in settings.model_fields_set:
        return settings
    shared = max(1, settings.max_concurrent_inferences // workers)
    return settings.model_copy(update={"max_concurrent_inferences": shared})


def cap_malloc_arenas() -> None:
    """At most `MALLOC_ARENAS` glibc malloc arenas in this process (set before its threads
    start) and in the worker processes it spawns (which read the environment at their start),
    unless the environment already names a number. Nothing on another C library."""
    libc = _glibc()
    if ARENA_MAX_VARIABLE in os.environ or libc is None:
        return  # an operator's own number, which glibc has read already
    os.environ[ARENA_MAX_VARIABLE] = str(MALLOC_ARENAS)
    libc.mallopt(M_ARENA_MAX, MALLOC_ARENAS)


def release_freed_memory() -> None:
    """Give the memory this process has freed back to the system (glibc keeps freed blocks
    for reuse): the `--workers` parent, which loaded a model set only to check it, would hold
    150 to 245 MiB it never uses again. Nothing on another C library."""
    libc = _glibc()
    if libc is None:
        return
    gc.collect()
    libc.malloc_trim(0)


def _glibc() -> ctypes.CDLL | None:
    """This process's C library when it is glibc, whose allocator the two calls above tune."""
    return ctypes.CDLL(None) if platform.libc_ver()[0] == "glibc" else None
