"""dlib's recognition path: 5-point predictor on each box, 150x150 chips, the ResNet embedder."""

from __future__ import annotations

import numpy as np

from facegate.engine.dlib.embedder import DIMENSIONS, DLIB_RESNET_V1, Embedder
from facegate.engine.dlib.landmarks import Aligner
from facegate.engine.types import Detections, Floats, Photo, Pixels


class DlibRecognizer:
    """Aligns by dlib's own 5 points (eye corners and nose base, not the detector's points)."""

    calculator_id = DLIB_RESNET_V1
    dimensions = DIMENSIONS

    def __init__(self, aligner: Aligner, embedder: Embedder) -> None:
        self._aligner = aligner
        self._embedder = embedder

    def chips(self, photo: Photo) -> Pixels:
        return self._aligner.chips(photo.pixels, photo.shapes)

    def embed(self, chips: Pixels) -> Floats:
        return self._embedder.embed(chips)

    def whole_image(self, pixels: Pixels) -> Detections:
        """The whole image as one detection, with dlib's 5 alignment points as its landmarks."""
        height, width = pixels.shape[:2]
        boxes = np.array([[0, 0, width, height]], dtype=np.float32)
        points = np.array(self._aligner.points(pixels, boxes), dtype=np.float32)
        return Detections(boxes, np.ones(1, dtype=np.float32), points)
