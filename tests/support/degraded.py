"""Synthetic degradations of a good photo, each strong enough to fail one enrolment quality
limit by its default (docs/quality.md): the face downscaled, blurred, darkened; and a small face
in a large photo (docs/models.md "Detection recall")."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image, ImageFilter

# fr_obama.jpg: one sharp, well-lit, frontal face about 110 pixels between the eyes.
GOOD_PHOTO = "fr_obama.jpg"
# Each variant and the words its refusal must name.
REASONS = {
    "downscaled.jpg": "face too small",
    "blurred.jpg": "face too blurred",
    "darkened.jpg": "face too dark",
}


def jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def variants(photo: Path) -> dict[str, bytes]:
    """The three degraded copies of `photo` by file name (the keys of REASONS), as JPEG."""
    image = Image.open(photo).convert("RGB")
    return {
        # Eyes about 11 pixels apart: under the 14-pixel default.
        "downscaled.jpg": jpeg(image.resize((image.width // 10, image.height // 10))),
        # Sharpness about 13: under the default of 15 (stronger blur reads sharper: the measure
        # normalises the chip's contrast).
        "blurred.jpg": jpeg(image.filter(ImageFilter.GaussianBlur(10))),
        # Brightness about 0.05: under the default of 0.07.
        "darkened.jpg": jpeg(image.point(lambda v: round(v * 0.1))),
    }


# A small face in a large photo: the photo at a quarter of its size (an lfw-dev face about 28
# px wide) in the middle of a grey frame of this size.
SMALL_FACE_FRAME = (1280, 960)


def small_in_frame(image: Image.Image) -> Image.Image:
    frame = Image.new("RGB", SMALL_FACE_FRAME, (128, 128, 128))
    small = image.convert("RGB").resize(
        (image.width // 4, image.height // 4), Image.Resampling.LANCZOS
    )
    frame.paste(small, ((frame.width - small.width) // 2, (frame.height - small.height) // 2))
    return frame
