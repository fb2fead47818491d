"""Face pictures: a square JPEG around each box, whatever scale the photo decodes at."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from facegate.engine.faces import Box
from facegate.engine.thumbnails import SIZE, face_thumbnails


def test_each_box_gives_a_square_jpeg_of_its_face(faces_dir: Path) -> None:
    photo = (faces_dir / "fr_obama-1080p.jpg").read_bytes()
    width, height = Image.open(io.BytesIO(photo)).size
    boxes = [
        Box(0, 0, width // 4, height // 4, 1.0),
        Box(width // 2, 0, width - 1, height - 1, 1.0),
    ]
    pictures = face_thumbnails(photo, boxes, max_image_pixels=10**8, max_side=320)
    assert len(pictures) == 2
    for picture in pictures:
        image = Image.open(io.BytesIO(picture))
        assert (image.format, image.size) == ("JPEG", (SIZE, SIZE))
    # The two boxes show different parts of the photo.
    first, second = (Image.open(io.BytesIO(p)).convert("L") for p in pictures)
    assert first.tobytes() != second.tobytes()
