"""Small JPEG pictures of faces found in a photo, for people to look at (the unknown faces)."""

from __future__ import annotations

import io
from collections.abc import Sequence

from PIL import Image

from facegate.engine import crops, images
from facegate.engine.faces import Box

SIZE = 128  # pixels a side: a face strip of a dozen fits a screen, and each is ~5 KB
MARGIN = 1.2  # the square's side, in lengths of the box's longer side: hair and chin show


def face_thumbnails(
    image: bytes, boxes: Sequence[Box], *, max_image_pixels: int, max_side: int
) -> list[bytes]:
    """A SIZE x SIZE JPEG of each box (original-image pixels) of `image`, which the engine has
    already decoded once: decoded again at no less than `max_side`, the detector's own scale."""
    decoded = images.decode(image, max_image_pixels=max_image_pixels, max_side=max_side)
    pictures = []
    for box in boxes:
        corners = [v / decoded.scale for v in (box.x_min, box.y_min, box.x_max, box.y_max)]
        square = crops.warp(decoded.pixels, crops.box_crop(corners, SIZE, margin=MARGIN), SIZE)
        buffer = io.BytesIO()
        Image.fromarray(square).save(buffer, "JPEG", quality=85)
        pictures.append(buffer.getvalue())
    return pictures
