"""Masks drawn over nose and mouth: the test photos hold no masked face."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageOps

from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import Analysis, FaceRequest

# Surgical blue, white cloth, black cloth.
COLOURS = {"blue": (160, 200, 230), "white": (240, 240, 240), "black": (30, 30, 30)}
# dlib's 68 points: the jaw from below one ear to below the other (1..15), closed over the
# nose bridge (29): the outline of a mask worn over nose and mouth.
OUTLINE = [*range(1, 16), 29]


def draw_masks(photo: bytes, faces: list[list[tuple[int, int]]], colour: str) -> bytes:
    """`photo` (EXIF orientation applied, as the engine reads it) with a flat mask of `colour`
    over each face's 68 landmarks, as PNG bytes."""
    image = ImageOps.exif_transpose(Image.open(io.BytesIO(photo))).convert("RGB")
    draw = ImageDraw.Draw(image)
    for points in faces:
        draw.polygon([points[i] for i in OUTLINE], fill=COLOURS[colour])
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


@dataclass
class MaskCounts:
    """Faces found and faces classified right, without masks and with each colour of mask."""

    found: Counter[str] = field(default_factory=Counter)
    right: Counter[str] = field(default_factory=Counter)
    # Mask-stage ms per face, one value per photo and variant.
    per_face_ms: list[float] = field(default_factory=list)


WITH_LANDMARKS = FaceRequest(plugins=frozenset({"landmarks68", "mask"}))
MASK_ONLY = FaceRequest(plugins=frozenset({"mask"}))


def measure(engine: FaceEngine, photos: Iterable[bytes]) -> MaskCounts:
    """The plugin on each photo as it is ("none": right is without_mask) and with masks of every
    colour drawn on its faces (right is with_mask)."""
    counts = MaskCounts()

    def count(variant: str, analysis: Analysis, expected: str) -> None:
        counts.found[variant] += len(analysis.faces)
        counts.right[variant] += sum(
            face.mask is not None and face.mask.value == expected for face in analysis.faces
        )
        if analysis.faces:
            counts.per_face_ms.append(analysis.timings["mask"] / len(analysis.faces))

    for photo in photos:
        plain = engine.analyze(photo, WITH_LANDMARKS)
        count("none", plain, "without_mask")
        points = [face.landmarks68 or [] for face in plain.faces]
        for colour in COLOURS:
            count(colour, engine.analyze(draw_masks(photo, points, colour), MASK_ONLY), "with_mask")
    return counts
