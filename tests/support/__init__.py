"""Plain helpers the tests call (fixtures live in the conftests): where the repository and the
shared test photos are, engine options, servers, clients, mail, seeded embeddings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from facegate.config import Settings
from facegate.engine.options import EngineOptions

REPO = Path(__file__).resolve().parents[2]
FACES_DIR = REPO.parent / "shared" / "faces"
# The admin_key of every test's settings (`make_settings`): scripts' way to POST /api/v1/migrate.
ADMIN_KEY = "test-admin-key-0123456789"


def engine_options(**overrides: Any) -> EngineOptions:
    """`EngineOptions` of default settings with `overrides` (Settings field names)."""
    return EngineOptions.from_settings(Settings(**overrides))


def png(image: Image.Image) -> bytes:
    """`image` as PNG file bytes."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()
