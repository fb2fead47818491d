"""Calibrating a model's similarity scale on labelled photo pairs (`facegate models calibrate`).

A calibration folder holds photos, `labels.csv` (`file,identity`) and `pairs.csv`
(`file_a,file_b,same`), the layout of LFW's development files: the labelled person of each
photo is the face nearest its centre.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from facegate.engine.face_engine import FaceEngine
from facegate.engine.similarity import Scale, fit, normalize
from facegate.engine.types import Floats


@dataclass(frozen=True)
class PairDistances:
    """Distances of normalised embeddings over labelled pairs, and photos with no face."""

    same: list[float]
    different: list[float]
    missed: list[str]

    def __add__(self, other: PairDistances) -> PairDistances:
        return PairDistances(
            self.same + other.same, self.different + other.different, self.missed + other.missed
        )

    def fit(self) -> Scale:
        return fit(self.same, self.different)

    def error_rates(self, scale: Scale) -> tuple[float, float]:
        """(same-person pairs under 0.5, different-person pairs at or over 0.5), as fractions."""
        same = scale.from_distance(self.same)
        different = scale.from_distance(self.different)
        return float((same < 0.5).mean()), float((different >= 0.5).mean())

    def report(self, scale: Scale) -> str:
        false_reject, false_accept = self.error_rates(scale)
        return (
            f"{len(self.same)} same-person pairs, {len(self.different)} different-person pairs, "
            f"{len(self.missed)} photos without a face\n"
            f"same-person distance: median {np.median(self.same):.4f}, largest "
            f"{max(self.same):.4f}; different-person: smallest {min(self.different):.4f}, "
            f"median {np.median(self.different):.4f}\n"
            f"c0 = {scale.c0}, c1 = {scale.c1}: same-person under 0.5 {false_reject:.2%}, "
            f"different-person at or over 0.5 {false_accept:.2%}"
        )


def central_embedding(engine: FaceEngine, image: bytes) -> Floats | None:
    """The normalised embedding of the face nearest the image's centre (None: no face)."""
    analysis = engine.analyze(image)
    if not analysis.faces:
        return None
    centre = np.array([analysis.width / 2, analysis.height / 2])
    offsets = [
        np.hypot(*(np.array([f.box.x_min + f.box.x_max, f.box.y_min + f.box.y_max]) / 2 - centre))
        for f in analysis.faces
    ]
    face = analysis.faces[int(np.argmin(offsets))]
    return normalize(face.embedding) if face.embedding is not None else None


def folder_distances(engine: FaceEngine, folder: Path) -> PairDistances:
    """Pair distances over a calibration folder (see the module docstring)."""
    with (folder / "labels.csv").open(newline="") as labels:
        files = [row["file"] for row in csv.DictReader(labels)]
    embeddings = {name: central_embedding(engine, (folder / name).read_bytes()) for name in files}
    with (folder / "pairs.csv").open(newline="") as pairs:
        rows = [(row["file_a"], row["file_b"], row["same"] == "1") for row in csv.DictReader(pairs)]
    return pair_distances(embeddings, rows)


def pair_distances(
    embeddings: dict[str, Floats | None], pairs: Iterable[tuple[str, str, bool]]
) -> PairDistances:
    """Distances of labelled pairs; pairs with a photo that has no embedding are left out."""
    same: list[float] = []
    different: list[float] = []
    for a, b, is_same in pairs:
        vector_a, vector_b = embeddings.get(a), embeddings.get(b)
        if vector_a is None or vector_b is None:
            continue
        (same if is_same else different).append(float(np.linalg.norm(vector_a - vector_b)))
    missed = sorted(name for name, vector in embeddings.items() if vector is None)
    return PairDistances(same, different, missed)
