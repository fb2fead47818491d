"""Bursts of frames for the burst recognition tests: one sharp photo among copies blurred
beyond recognition (on both model sets), all of one size, so the face stays in place."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageFilter

from tests.support.degraded import jpeg

# Gaussian blurs that leave fr_obama2.jpg's face detected but matched to no one (similarity to
# fr_obama.jpg about 0.01 on dlib, 0.2 to 0.35 on insightface-s; at sigma 20 insightface-s,
# whose 0.5 accepts 1 in 1,000 strangers, still matched it at 0.52; over 30 the quality plugin
# reads the blurred JPEG as sharper again, so the frame would weigh more).
POOR_BLURS = (28, 24, 26)


def poor(photo: Path, sigma: float = POOR_BLURS[0]) -> bytes:
    """`photo` blurred with a Gaussian of `sigma` pixels, as JPEG."""
    return jpeg(Image.open(photo).convert("RGB").filter(ImageFilter.GaussianBlur(sigma)))


def one_good_among_poor(photo: Path) -> list[bytes]:
    """Four frames: two poor, `photo` as it is (the third), one poor."""
    blurred = [poor(photo, sigma) for sigma in POOR_BLURS]
    return [blurred[0], blurred[1], photo.read_bytes(), blurred[2]]
