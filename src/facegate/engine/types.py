"""The engine's shared vocabulary: pixel and float arrays, what a detector finds, a photo on its
way through a model set, and the protocols each model family implements (docs/architecture.md,
"The engine by model family")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:  # faces -> similarity -> types: imported for the protocols' types only
    from facegate.engine.faces import AgeRange, Gender

Pixels = npt.NDArray[np.uint8]
Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Detections:
    """Faces found in one image, highest score first, in the coordinates of the given pixels."""

    boxes: Floats  # (N, 4) x_min, y_min, x_max, y_max
    scores: Floats  # (N,)
    landmarks: Floats  # (N, 5, 2)

    def __len__(self) -> int:
        return int(self.scores.shape[0])

    def scaled(self, factor: float) -> Detections:
        """The same detections with coordinates multiplied by `factor`."""
        return Detections(self.boxes * factor, self.scores, self.landmarks * factor)

    def take(self, indices: npt.NDArray[np.intp]) -> Detections:
        return Detections(self.boxes[indices], self.scores[indices], self.landmarks[indices])

    def shifted(self, offset: float) -> Detections:
        """The same detections with `offset` added to every coordinate."""
        return Detections(self.boxes + offset, self.scores, self.landmarks + offset)


class ShapeAligner(Protocol):
    """Places alignment points on face boxes (dlib's 5-point predictor in every model set)."""

    def shapes(self, pixels: Pixels, boxes: Floats) -> Any: ...


class Photo:
    """One photo's detected faces, with dlib's 5 alignment points placed on them at most once
    however many models cut dlib chips from them (the embedder, age and gender)."""

    def __init__(self, pixels: Pixels, found: Detections, aligner: ShapeAligner) -> None:
        self.pixels = pixels
        self.found = found
        self._aligner = aligner

    @cached_property
    def shapes(self) -> Any:
        return self._aligner.shapes(self.pixels, self.found.boxes)


class Detector(Protocol):
    def detect(self, pixels: Pixels, *, threshold: float) -> Detections: ...


class Recognizer(Protocol):
    """Aligned chips of a photo's faces, and embeddings from chips (the `calculator`)."""

    calculator_id: str
    dimensions: int

    def chips(self, photo: Photo) -> Pixels: ...

    def embed(self, chips: Pixels) -> Floats: ...

    def whole_image(self, pixels: Pixels) -> Detections:
        """The image as one face (recognize's `detect_faces=false`), with alignment points."""
        ...


class Attributes(Protocol):
    def estimate(
        self, photo: Photo, *, age: bool, gender: bool
    ) -> tuple[list[AgeRange], list[Gender]]: ...


class Points(Protocol):
    def points(self, pixels: Pixels, boxes: Floats) -> list[list[tuple[int, int]]]: ...
