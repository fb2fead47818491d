"""Age and gender from an InsightFace pack's genderage.onnx (when the pack has one)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from facegate.engine.crop_network import CropNetwork
from facegate.engine.detector import Detections
from facegate.engine.faces import AgeRange, Gender

Pixels = npt.NDArray[np.uint8]

# Output: two gender logits (female, male) and the age divided by 100.
LABELS = ("female", "male")


class InsightFaceAgeGender:
    """One network for both plugins. Age is a single year: CompreFace's InsightFace builds
    report it as `(age, age)` with probability 1.0, and so does facegate."""

    def __init__(self, network: CropNetwork) -> None:
        self._network = network

    def ages(self, pixels: Pixels, found: Detections) -> list[AgeRange]:
        outputs, _ = self._network.run(pixels, found.boxes)
        years = [max(0, round(float(row[2]) * 100)) for row in outputs]
        return [AgeRange(low=year, high=year, probability=1.0) for year in years]

    def genders(self, pixels: Pixels, found: Detections) -> list[Gender]:
        outputs, _ = self._network.run(pixels, found.boxes)
        logits = outputs[:, :2].astype(np.float64)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1)
        return [
            Gender(value=LABELS[i], probability=float(probabilities[row, i]))
            for row, i in enumerate(best)
        ]
