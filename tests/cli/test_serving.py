"""facegate.cli.serving's allocator set-up: glibc's malloc arenas capped for `serve` and the
workers it spawns, an operator's own number left alone."""

from __future__ import annotations

import os
import platform

import pytest

from facegate.cli.serving import ARENA_MAX_VARIABLE, MALLOC_ARENAS, cap_malloc_arenas


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
