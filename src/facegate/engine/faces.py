"""What the engine returns: faces found in one photo, with their optional attributes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

Embedding = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Box:
    """A face box in original-image pixels; `probability` is the detector's score."""

    x_min: int
    y_min: int
    x_max: int
    y_max: int
    probability: float


@dataclass(frozen=True)
class AgeRange:
    low: int
    high: int
    probability: float


@dataclass(frozen=True)
class Gender:
    value: str  # "male" | "female"
    probability: float


@dataclass(frozen=True)
class Pose:
    pitch: float
    roll: float
    yaw: float


@dataclass
class Face:
    """One detected face. Attributes stay None unless their plugin was asked for."""

    box: Box
    # 5 points in original pixels: left eye, right eye, nose, left and right mouth corners.
    landmarks: list[tuple[int, int]]
    embedding: Embedding | None = None  # raw calculator output, float32, not normalised
    age: AgeRange | None = None
    gender: Gender | None = None
    pose: Pose | None = None
    landmarks68: list[tuple[int, int]] | None = None
    landmarks106: list[tuple[int, int]] | None = None
    execution_time: dict[str, float] = field(default_factory=dict)  # plugin slug -> ms


@dataclass
class Analysis:
    """The result of one `FaceEngine.analyze` call."""

    faces: list[Face]
    width: int
    height: int
    timings: dict[str, float]  # stage ("decode", "detect", "align", "embed", ...) -> ms
    plugins_versions: dict[str, str]  # plugin slug -> model version string
