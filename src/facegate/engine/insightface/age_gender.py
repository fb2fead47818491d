"""Age and gender from an InsightFace pack's genderage.onnx (when the pack has one)."""

from __future__ import annotations

import numpy as np

from facegate.engine.faces import AgeRange, Gender
from facegate.engine.insightface.crop_network import CropNetwork
from facegate.engine.types import Photo

# Output: two gender logits (female, male) and the age divided by 100.
LABELS = ("female", "male")


class InsightFaceAgeGender:
    """One network for both plugins. Age is a single year: CompreFace's InsightFace builds
    report it as `(age, age)` with probability 1.0, and so does facegate."""

    def __init__(self, network: CropNetwork) -> None:
        self._network = network

    def estimate(
        self, photo: Photo, *, age: bool, gender: bool
    ) -> tuple[list[AgeRange], list[Gender]]:
        """Both from one network run per photo (an empty list for the one not asked for)."""
        outputs, _ = self._network.run(photo.pixels, photo.found.boxes)
        years = [max(0, round(float(row[2]) * 100)) for row in outputs] if age else []
        logits = outputs[:, :2].astype(np.float64)
        probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
        probabilities /= probabilities.sum(axis=1, keepdims=True)
        best = probabilities.argmax(axis=1) if gender else []
        return (
            [AgeRange(low=year, high=year, probability=1.0) for year in years],
            [
                Gender(value=LABELS[i], probability=float(probabilities[row, i]))
                for row, i in enumerate(best)
            ],
        )
