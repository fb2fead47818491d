"""The `landmarks2d106` plugin: InsightFace's 2d106det, 106 points per face in image pixels."""

from __future__ import annotations

from facegate.engine.crops import to_image
from facegate.engine.insightface.crop_network import CropNetwork
from facegate.engine.types import Floats, Pixels


class Landmarks106:
    """106 points per face box; the network answers in [-1, 1] crop coordinates."""

    def __init__(self, network: CropNetwork) -> None:
        self._network = network

    def points(self, pixels: Pixels, boxes: Floats) -> list[list[tuple[int, int]]]:
        if len(boxes) == 0:
            return []
        outputs, matrices = self._network.run(pixels, boxes)
        half = self._network.size / 2
        faces = []
        for output, matrix in zip(outputs, matrices, strict=True):
            in_crop = (output.reshape(-1, 2) + 1) * half
            faces.append([(round(x), round(y)) for x, y in to_image(in_crop, matrix)])
        return faces
