"""HEIC uploads (iPhones' photos; a facegate addition to CompreFace's formats): enrolled and
recognised as their JPEG would be, over real HTTP."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from tests.support.clients import ok, running_api


def _heic(path: Path) -> bytes:
    buffer = io.BytesIO()
    Image.open(path).save(buffer, "HEIF", quality=90)
    return buffer.getvalue()


def test_heic_photos_are_enrolled_and_recognised(
    settings: Any, face_engine: Any, faces_dir: Path
) -> None:
    with running_api(settings, face_engine, faces_dir) as api:
        added = api.request(
            "POST",
            "/api/v1/recognition/faces",
            params={"subject": "obama"},
            files={"file": ("IMG_0001.HEIC", _heic(faces_dir / "fr_obama.jpg"), "image/heic")},
        )
        ok(added, 201)
        found = api.request(
            "POST",
            "/api/v1/recognition/recognize",
            files={"file": ("IMG_0002.heic", _heic(faces_dir / "fr_obama2.jpg"), "image/heic")},
        )
    [face] = ok(found)["result"]
    assert face["subjects"][0]["subject"] == "obama"
    assert face["subjects"][0]["similarity"] > 0.9
