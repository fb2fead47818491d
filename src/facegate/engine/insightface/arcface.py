"""ArcFace recognition (InsightFace packs): 5-point similarity alignment and the 512-d network."""

from __future__ import annotations

import numpy as np

from facegate.engine import runtime
from facegate.engine.crops import similarity_transform, warp
from facegate.engine.types import Detections, Detector, Floats, Photo, Pixels

CHIP_SIZE = 112
# Where ArcFace models expect the 5 points (eyes, nose tip, mouth corners) in a 112x112 chip:
# InsightFace's `arcface_dst`, the template every ArcFace model of its model zoo was trained on.
TEMPLATE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
MEAN = 127.5
STD = 127.5


def aligned_chips(pixels: Pixels, landmarks: Floats, *, size: int = CHIP_SIZE) -> Pixels:
    """(N, size, size, 3) chips with each face's 5 points moved onto the ArcFace template."""
    template = TEMPLATE * (size / CHIP_SIZE)
    chips = [warp(pixels, similarity_transform(points, template), size) for points in landmarks]
    if not chips:
        return np.empty((0, size, size, 3), dtype=np.uint8)
    return np.stack(chips)


class ArcFaceRecognizer:
    """An ArcFace-trained network (112x112 RGB in, one embedding out) and its alignment."""

    def __init__(self, session: runtime.Network, *, calculator_id: str, detector: Detector) -> None:
        self._session = session
        self._detector = detector
        self._input = session.get_inputs()[0].name
        self.calculator_id = calculator_id
        self.dimensions = int(session.get_outputs()[0].shape[-1])

    def chips(self, photo: Photo) -> Pixels:
        return aligned_chips(photo.pixels, photo.found.landmarks)

    def embed(self, chips: Pixels) -> Floats:
        """All chips in one network run -> (N, dimensions) float32, not normalised."""
        if len(chips) == 0:
            return np.empty((0, self.dimensions), dtype=np.float32)
        batch = (chips.astype(np.float32).transpose(0, 3, 1, 2) - MEAN) / STD
        (vectors,) = self._session.run(None, {self._input: np.ascontiguousarray(batch)})
        return np.asarray(vectors, dtype=np.float32)

    def whole_image(self, pixels: Pixels) -> Detections:
        """The image taken as an already cropped face, aligned by the 5 points the detector
        finds in it at any score (the crop padded by a quarter on each side, as a detector
        expects a face with some background); the template's points scaled to the image when
        it finds none."""
        height, width = pixels.shape[:2]
        pad = max(height, width) // 4
        padded = np.pad(pixels, ((pad, pad), (pad, pad), (0, 0)))
        found = self._detector.detect(padded, threshold=0.0)
        if len(found):
            points = found.landmarks[:1] - pad
        else:
            points = (TEMPLATE * np.array([width / CHIP_SIZE, height / CHIP_SIZE]))[None]
        boxes = np.array([[0, 0, width, height]], dtype=np.float32)
        return Detections(boxes, np.ones(1, dtype=np.float32), points.astype(np.float32))
