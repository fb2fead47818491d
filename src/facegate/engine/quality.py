"""The `quality` plugin: per face, the measures that predict a bad enrolment example.

Pure numpy on the detector's output and one aligned chip. The chip is the ArcFace one (the
detector's 5 points moved onto InsightFace's 112x112 template) on every model set, so a
measure means the same whichever recogniser runs and one set of limits fits both
(decisions.md D24, measurements in docs/quality.md).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facegate.engine import geometry
from facegate.engine.faces import Quality
from facegate.engine.insightface.arcface import aligned_chips
from facegate.engine.types import Floats, Pixels

# ITU-R BT.601 luma, as Pillow's "L" conversion.
LUMA = np.array([0.299, 0.587, 0.114])
# Sharpness is measured on the chip stretched to this standard deviation of grey levels, so that
# a dark or low-contrast photo is reported as such (brightness) and not also as blurred: the
# Laplacian's variance grows with the square of contrast. 50 grey levels: about the median chip
# of the shared photos (54; 35 to 74 for nine in ten).
REFERENCE_CONTRAST = 50.0
# Grey levels counted as clipped: crushed shadows and blown highlights.
CLIPPED_DARK, CLIPPED_BRIGHT = 5, 250


def measure(pixels: Pixels, landmarks: Floats, scores: Floats) -> list[Quality]:
    """The quality of each detected face: `landmarks` (N, 5, 2) in `pixels` coordinates (the
    full-resolution photo) and `scores` (N,) the detector's."""
    chips = aligned_chips(pixels, landmarks)
    return [
        _quality(chip, marks, float(score))
        for chip, marks, score in zip(chips, landmarks, scores, strict=True)
    ]


def grey(chip: Pixels) -> npt.NDArray[np.float64]:
    """An RGB chip (H, W, 3) as grey levels 0..255."""
    values: npt.NDArray[np.float64] = chip[..., :3].astype(np.float64) @ LUMA
    return values


def sharpness(grey_chip: npt.NDArray[np.float64]) -> float:
    """Variance of the 4-neighbour Laplacian of the contrast-normalised grey chip; 0 for a
    uniform chip. Blur and upscaling from a small face both remove the fine detail it measures."""
    spread = float(grey_chip.std())
    if spread < 1e-6:
        return 0.0
    g = (grey_chip - grey_chip.mean()) * (REFERENCE_CONTRAST / spread)
    laplacian = g[:-2, 1:-1] + g[2:, 1:-1] + g[1:-1, :-2] + g[1:-1, 2:] - 4.0 * g[1:-1, 1:-1]
    return float(laplacian.var())


def _quality(chip: Pixels, landmarks: Floats, score: float) -> Quality:
    g = grey(chip)
    left_eye, right_eye = np.asarray(landmarks[0]), np.asarray(landmarks[1])
    pose = geometry.pose(landmarks)
    clipped = (g <= CLIPPED_DARK) | (g >= CLIPPED_BRIGHT)
    return Quality(
        eye_distance=round(float(np.hypot(*(right_eye - left_eye))), 1),
        sharpness=round(sharpness(g), 1),
        brightness=round(float(g.mean()) / 255, 3),
        clipped=round(float(clipped.mean()), 3),
        yaw=pose.yaw,
        pitch=pose.pitch,
        roll=pose.roll,
        detection=round(score, 5),
    )
