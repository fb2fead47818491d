"""Small JPEG pictures of faces found in a photo, for people to look at (the unknown faces)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from PIL import Image

from facegate.engine import crops
from facegate.engine.faces import Face

SIZE = 128  # pixels a side: a face strip of a dozen fits a screen, and each is ~5 KB
MARGIN = 1.2  # the square's side, in lengths of the box's longer side: hair and chin show


def add_pictures(faces: Sequence[Face], pixels: npt.NDArray[np.uint8], scale: float) -> None:
    """Give each face (its box in original pixels) a SIZE x SIZE JPEG picture, cut from the
    photo the engine decoded, `pixels` being the original divided by `scale`."""
    for face in faces:
        box = face.box
        corners = [v / scale for v in (box.x_min, box.y_min, box.x_max, box.y_max)]
        square = crops.warp(pixels, crops.box_crop(corners, SIZE, margin=MARGIN), SIZE)
        buffer = io.BytesIO()
        Image.fromarray(square).save(buffer, "JPEG", quality=85)
        face.picture = buffer.getvalue()
