"""What the engine returns: faces found in one photo, with their optional attributes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import numpy.typing as npt

from facegate.engine.plugins import CALCULATOR
from facegate.engine.similarity import ClusterThresholds, FalseAccept, Scale, round5
from facegate.errors import InvalidParameter, NoFaceFound

Embedding = npt.NDArray[np.float32]


@dataclass(frozen=True)
class FaceRequest:
    """What one `FaceEngine.analyze` call computes: the engine's typed query.

    `plugins`: the slugs to run; `calculator` among them computes embeddings (the default, so a
    plain request finds faces and embeds them). `det_prob_threshold` None: the model set's
    default. `limit` keeps the N largest faces (0: all). `detect=False` takes the whole image as
    one face (recognize's `detect_faces=false`). `pictures` cuts a small JPEG of each face
    (`Face.picture`) from the photo as decoded, for people to look at (kept unknown faces). The
    limits on these values are checked here, once, whoever builds the request (HTTP, the CLI,
    the re-embedding job).
    """

    plugins: frozenset[str] = frozenset({CALCULATOR})
    det_prob_threshold: float | None = None
    limit: int = 0
    detect: bool = True
    pictures: bool = False

    def __post_init__(self) -> None:
        threshold = self.det_prob_threshold
        if threshold is not None and not 0.0 <= threshold <= 1.0:
            # CompreFace answers code 28 here (its core's 400) (decisions.md C1.0); core's text.
            raise NoFaceFound("Detection threshold incorrect (0 <= det_prob_threshold <= 1)")
        if self.limit < 0:
            raise InvalidParameter("Limit should be equal or greater than 0; ")


@dataclass(frozen=True)
class Box:
    """A face box in original-image pixels; `probability` is the detector's score."""

    x_min: int
    y_min: int
    x_max: int
    y_max: int
    probability: float

    def as_json(self, *, rounded: bool) -> dict[str, float | int]:
        """The box in CompreFace's key order: recognize and verify round the probability to 5
        places, detect does not."""
        probability = round5(self.probability) if rounded else self.probability
        return {
            "probability": probability,
            "x_max": self.x_max,
            "y_max": self.y_max,
            "x_min": self.x_min,
            "y_min": self.y_min,
        }


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
class Mask:
    value: str  # "with_mask" | "without_mask"
    probability: float


@dataclass(frozen=True)
class Pose:
    pitch: float
    roll: float
    yaw: float


@dataclass(frozen=True)
class Quality:
    """What predicts a bad enrolment example (the `quality` plugin, engine/quality.py).

    eye_distance: pixels between the eye centres in the original photo. sharpness: variance of
    the Laplacian of the contrast-normalised grey aligned chip. brightness: the chip's mean grey
    level, 0..1; clipped: its share of crushed or blown pixels. yaw, pitch, roll: degrees, as
    the `pose` plugin. detection: the detector's score.
    """

    eye_distance: float
    sharpness: float
    brightness: float
    clipped: float
    yaw: float
    pitch: float
    roll: float
    detection: float


@dataclass
class Face:
    """One detected face. Attributes stay None unless their plugin was asked for."""

    box: Box
    # 5 points in original pixels: left eye, right eye, nose, left and right mouth corners.
    landmarks: list[tuple[int, int]]
    embedding: Embedding | None = None  # raw calculator output, float32, not normalised
    age: AgeRange | None = None
    gender: Gender | None = None
    mask: Mask | None = None
    pose: Pose | None = None
    quality: Quality | None = None
    landmarks68: list[tuple[int, int]] | None = None
    landmarks106: list[tuple[int, int]] | None = None
    picture: bytes | None = None  # a small JPEG of the face, when the request asked for pictures
    execution_time: dict[str, float] = field(default_factory=dict)  # plugin slug -> ms


@dataclass
class Analysis:
    """The result of one `FaceEngine.analyze` call."""

    faces: list[Face]
    width: int
    height: int
    timings: dict[str, float]  # stage ("decode", "detect", "align", "embed", ...) -> ms
    plugins_versions: dict[str, str]  # plugin slug -> model version string


class FaceAnalyzer(Protocol):
    """What facegate needs of a face engine: `face_engine.FaceEngine`, and the tests'
    `FakeEngine`, which declares it (mypy checks both: pyproject's `files`)."""

    model: str
    licence: str
    calculator_id: str
    dimensions: int
    scale: Scale
    det_prob_threshold: float
    plugins_versions: dict[str, str]
    cluster_thresholds: ClusterThresholds
    false_accepts: tuple[FalseAccept, ...]

    def analyze(self, image: bytes, request: FaceRequest = ...) -> Analysis: ...
