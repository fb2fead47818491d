"""Shared fixtures: where the test photos live, and their manifest."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
FACES_DIR = REPO.parent / "shared" / "faces"


def _require_faces() -> Path:
    if not (FACES_DIR / "manifest.json").is_file():
        pytest.fail(
            f"Test photos not found at {FACES_DIR}. Check out the project's shared/ folder "
            "(it holds faces/ with manifest.json) beside the repository, as CI does."
        )
    return FACES_DIR


@pytest.fixture(scope="session")
def faces_dir() -> Path:
    return _require_faces()


@pytest.fixture(scope="session")
def manifest(faces_dir: Path) -> list[dict[str, Any]]:
    images: list[dict[str, Any]] = json.loads((faces_dir / "manifest.json").read_text())["images"]
    return images
