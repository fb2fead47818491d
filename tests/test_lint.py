"""The strictness the project promises: ruff (lint and format) and mypy --strict are clean."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.support import REPO
from tests.support.services import unavailable


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy"],
    ],
    ids=["ruff-check", "ruff-format", "mypy"],
)
def test_tool_is_clean(command: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_web_modules_type_check() -> None:
    """Every UI module says `// @ts-check`: TypeScript's checker holds them to their JSDoc
    types (it found a call to an undefined function once; docs/architecture.md)."""
    tsc = REPO / "node_modules" / ".bin" / "tsc"
    if not tsc.exists():
        unavailable("tsc", "TypeScript's tsc is not installed: run `npm ci` at the repository root")
    config = REPO / "src" / "facegate" / "web" / "static" / "jsconfig.json"
    done = subprocess.run(
        [str(tsc), "-p", str(config)], cwd=REPO, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
