"""Face pictures: a square JPEG around each box, whatever scale the photo decodes at, cut by
the engine when a request asks for them."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from PIL import Image

from facegate.engine import images
from facegate.engine.faces import Box, Face, FaceRequest
from facegate.engine.thumbnails import SIZE, add_pictures


def _jpeg(picture: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(picture))
    assert (image.format, image.size) == ("JPEG", (SIZE, SIZE))
    return image


def test_each_box_gives_a_square_jpeg_of_its_face(faces_dir: Path) -> None:
    photo = (faces_dir / "fr_obama-1080p.jpg").read_bytes()
    decoded = images.decode(photo, max_image_pixels=10**8, max_side=320)
    assert decoded.scale > 1  # boxes are in original pixels, the pixels are smaller
    width, height = decoded.width, decoded.height
    faces = [
        Face(Box(0, 0, width // 4, height // 4, 1.0), []),
        Face(Box(width // 2, 0, width - 1, height - 1, 1.0), []),
    ]
    add_pictures(faces, decoded.pixels, decoded.scale)
    pictures = [face.picture for face in faces if face.picture is not None]
    assert len(pictures) == 2
    # The two boxes show different parts of the photo.
    first, second = (_jpeg(p).convert("L") for p in pictures)
    assert first.tobytes() != second.tobytes()


def test_the_engine_cuts_pictures_only_when_asked(face_engine: Any, faces_dir: Path) -> None:
    photo = (faces_dir / "fr_obama.jpg").read_bytes()
    (plain,) = face_engine.analyze(photo, FaceRequest()).faces
    assert plain.picture is None
    (face,) = face_engine.analyze(photo, FaceRequest(pictures=True)).faces
    assert face.picture is not None
    _jpeg(face.picture)
