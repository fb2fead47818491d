"""Calibrating a model's similarity scale on labelled photos (`facegate models calibrate`).

A calibration folder holds photos and `labels.csv` (`file,identity`), the layout of
shared/lfw-dev: the labelled person of each photo is the face nearest its centre. Every pair of
photos counts: same identity, a same-person pair; different identities, a different-person
pair. Over several folders identities are compared by name, so one person must be spelt alike
in each (docs/models.md "Similarity").
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facegate.engine.face_engine import FaceEngine
from facegate.engine.similarity import (
    BALANCE,
    FalseAccept,
    Scale,
    false_accepts,
    fit,
    normalize,
)
from facegate.engine.types import Floats


@dataclass(frozen=True)
class Labelled:
    """Photos' identities and the normalised embedding of each one's labelled face (None: the
    detector found no face)."""

    identities: dict[str, str]
    embeddings: dict[str, Floats | None]

    def __add__(self, other: Labelled) -> Labelled:
        return Labelled(self.identities | other.identities, self.embeddings | other.embeddings)

    def distances(self) -> PairDistances:
        """The distances of every pair of photos with a face, split by identity."""
        found = {name: vector for name, vector in self.embeddings.items() if vector is not None}
        names = list(found)
        missed = sorted(set(self.embeddings) - set(found))
        if len(names) < 2:
            return PairDistances(np.zeros(0), np.zeros(0), missed)
        vectors = np.stack(list(found.values())).astype(np.float64)
        identities = np.array([self.identities[name] for name in names])
        upper = np.triu_indices(len(names), k=1)
        # |a - b|^2 = 2 - 2 a.b for unit vectors; float64 so that ~10^5 pairs sort stably.
        distances = np.sqrt(np.clip(2.0 - 2.0 * (vectors @ vectors.T)[upper], 0.0, None))
        same = (identities[:, None] == identities[None, :])[upper]
        return PairDistances(np.sort(distances[same]), np.sort(distances[~same]), missed)


@dataclass(frozen=True)
class PairDistances:
    """Sorted distances of normalised embeddings over labelled pairs, and photos with no
    face."""

    same: npt.NDArray[np.float64]
    different: npt.NDArray[np.float64]
    missed: list[str]

    def fit(self) -> Scale:
        return fit(self.same, self.different)

    def false_accepts(self, scale: Scale) -> tuple[FalseAccept, ...]:
        return false_accepts(self.different, scale)

    def error_rates(self, scale: Scale) -> tuple[float, float]:
        """(same-person pairs under BALANCE, different-person pairs at or over it), as
        fractions."""
        same = scale.from_distance(self.same)
        different = scale.from_distance(self.different)
        return float((same < BALANCE).mean()), float((different >= BALANCE).mean())

    def report(self, scale: Scale) -> str:
        false_reject, false_accept = self.error_rates(scale)
        table = "\n".join(
            f"  {row.rate:g}: "
            + ("too few pairs" if row.similarity is None else f"{row.similarity:.3f}")
            + f" ({row.accepted} of {row.pairs} pairs)"
            for row in self.false_accepts(scale)
        )
        return (
            f"{len(self.same)} same-person pairs, {len(self.different)} different-person pairs, "
            f"{len(self.missed)} photos without a face\n"
            f"same-person distance: median {np.median(self.same):.4f}, largest "
            f"{self.same[-1]:.4f}; different-person: smallest {self.different[0]:.4f}, "
            f"median {np.median(self.different):.4f}\n"
            f"c0 = {scale.c0}, c1 = {scale.c1}: same-person under {BALANCE} "
            f"{false_reject:.2%}, different-person at or over {BALANCE} {false_accept:.4%}\n"
            f"similarity per false-accept rate:\n{table}"
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


def read_folder(engine: FaceEngine, folder: Path) -> Labelled:
    """The labelled photos of a calibration folder (see the module docstring), embedded; photo
    names are prefixed with the folder's so that folders never share one."""
    with (folder / "labels.csv").open(newline="") as labels:
        rows = [(row["file"], row["identity"]) for row in csv.DictReader(labels)]
    return Labelled(
        {f"{folder.name}/{file}": identity for file, identity in rows},
        {
            f"{folder.name}/{file}": central_embedding(engine, (folder / file).read_bytes())
            for file, _ in rows
        },
    )
