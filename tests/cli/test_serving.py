"""facegate.cli.serving's allocator set-up: glibc's malloc arenas capped for `serve` and the
workers it spawns, an operator's own number left alone; freed memory given back."""

from __future__ import annotations

import ctypes
import os
import platform
from pathlib import Path

import pytest

from facegate.cli.serving import (
    ARENA_MAX_VARIABLE,
    MALLOC_ARENAS,
    cap_malloc_arenas,
    release_freed_memory,
    share_cores,
)
from facegate.config import Settings


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's arenas only")
def test_serve_caps_the_arenas_for_itself_and_its_workers(monkeypatch: pytest.MonkeyPatch):
    # Set, then removed: monkeypatch then removes what the test sets when it ends.
    monkeypatch.setenv(ARENA_MAX_VARIABLE, "")
    monkeypatch.delenv(ARENA_MAX_VARIABLE)
    cap_malloc_arenas()
    assert os.environ[ARENA_MAX_VARIABLE] == str(MALLOC_ARENAS)


def test_an_operators_number_is_kept(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv(ARENA_MAX_VARIABLE, "8")
    cap_malloc_arenas()
    assert os.environ[ARENA_MAX_VARIABLE] == "8"


def _resident_mib() -> int:
    status = Path("/proc/self/status").read_text()
    return (
        int(next(line for line in status.splitlines() if line.startswith("VmRSS")).split()[1])
        // 1024
    )


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's malloc_trim only")
def test_memory_freed_in_c_goes_back_to_the_system() -> None:
    """What a `--workers` parent does after dropping the model set it checked: blocks freed by
    C code (ONNX Runtime's) stay resident in glibc's heap until trimmed."""
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(4096) for _ in range(30_000)]  # about 120 MiB
    for block in blocks:
        ctypes.memset(block, 1, 4096)
    above = libc.malloc(64)  # keeps the heap's top in use, so free() alone cannot shrink it
    for block in blocks:
        libc.free(block)
    held = _resident_mib()
    release_freed_memory()
    assert _resident_mib() < held - 80
    libc.free(above)


def test_workers_divide_the_cores_unless_the_operator_named_a_number(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FACEGATE_MAX_CONCURRENT_INFERENCES", raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert share_cores(Settings(), 1).max_concurrent_inferences == 8
    assert share_cores(Settings(), 2).max_concurrent_inferences == 4
    assert share_cores(Settings(), 16).max_concurrent_inferences == 1
    monkeypatch.setenv("FACEGATE_MAX_CONCURRENT_INFERENCES", "6")
    assert share_cores(Settings(), 2).max_concurrent_inferences == 6
