"""The face engine's interface without its models, handed to `create_app` by the fast API tests.

Photos decode for real (bad bytes fail as they would on the real engine); the faces in a
photo of ../shared/faces are the people its manifest names, side by side, each with an
embedding of its own person, so the same person scores 1.0 and two people about 0.1. Any
other picture that is not one flat colour holds one stranger's face. What the API does with
faces (shapes, parameters, error codes, storage) is then tested in milliseconds; what the
models find is tested on the real engine (tests/api/test_*_e2e.py and the engine tests).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from facegate.engine import images, thumbnails
from facegate.engine import plugins as face_plugins
from facegate.engine.faces import (
    AgeRange,
    Analysis,
    Box,
    Face,
    FaceAnalyzer,
    FaceRequest,
    Gender,
    Pose,
)
from facegate.engine.similarity import ClusterThresholds, FalseAccept, Scale

# Every slug but the ones the real dlib set lacks too (mask, landmarks2d106), and `quality`:
# it measures pixels at the detector's eye points, which the fake has none of (its tests run on
# the real engine: tests/api/test_quality_gate.py).
VERSIONS = {
    "detector": "fake.Detector@manifest",
    face_plugins.CALCULATOR: "fake.Calculator@sha256",
    face_plugins.LANDMARKS: "fake.Landmarks@box",
    face_plugins.AGE: "fake.AgeDetector@fixed",
    face_plugins.GENDER: "fake.GenderDetector@fixed",
    face_plugins.LANDMARKS68: "fake.Landmarks68@box",
    face_plugins.POSE: "fake.Pose@level",
}
PROBABILITY = 0.99
EMBED_ALL = FaceRequest()


class FakeEngine(FaceAnalyzer):
    """`facegate.engine.face_engine.FaceEngine`'s attributes and `analyze`, no models."""

    model = "fake"
    licence = "none"
    calculator_id = "fake-calculator"
    dimensions = 32
    det_prob_threshold = 0.8
    # Unit vectors of one person are equal (distance 0 -> 1.0); random ones lie ~1.41 apart.
    scale = Scale(c0=0.7, c1=3.0)
    false_accepts = (FalseAccept(1e-3, 0.5, 1000, 1),)
    cluster_thresholds = ClusterThresholds(join=0.9, merge=0.95)

    def __init__(self, faces_dir: Path | None = None, max_image_pixels: int = 178_956_970) -> None:
        """`faces_dir`: the shared photos whose manifest says who is in them (None: none)."""
        self.plugins_versions = dict(VERSIONS)
        self._max_image_pixels = max_image_pixels
        self._people: dict[str, list[str]] = {}
        if faces_dir is not None:
            for entry in json.loads((faces_dir / "manifest.json").read_text())["images"]:
                data = (faces_dir / entry["file"]).read_bytes()
                people = list(entry["people"])
                # Faces of no named person (crowds) are strangers of their own.
                people += [f"{entry['file']}#{i}" for i in range(len(people), entry["faces"])]
                self._people[hashlib.sha256(data).hexdigest()] = people

    def analyze(self, image: bytes, request: FaceRequest = EMBED_ALL) -> Analysis:
        slugs = face_plugins.check(request.plugins, self.plugins_versions.keys())
        decoded = images.decode(image, max_image_pixels=self._max_image_pixels)
        digest = hashlib.sha256(image).hexdigest()
        people = self._people.get(digest)
        if people is None:
            flat = bool((decoded.pixels == decoded.pixels[0, 0]).all())
            people = [] if flat else [f"stranger {digest}"]
        if not request.detect:
            people = people[:1] or [f"stranger {digest}"]
        threshold = request.det_prob_threshold
        if (self.det_prob_threshold if threshold is None else threshold) > PROBABILITY:
            people = []
        if request.limit:
            people = people[: request.limit]
        width, height = decoded.width, decoded.height
        column = width // max(len(people), 1)
        faces = [
            self._face(person, Box(i * column, 0, (i + 1) * column - 1, height - 1, PROBABILITY))
            for i, person in enumerate(people)
        ]
        for face, person in zip(faces, people, strict=True):
            self._describe(face, person, slugs)
        if request.pictures:  # cut as the real engine cuts them
            thumbnails.add_pictures(faces, decoded.pixels, decoded.scale)
        versions = {"detector": VERSIONS["detector"]}
        versions |= {slug: VERSIONS[slug] for slug in sorted(slugs)}
        return Analysis(
            faces=faces,
            width=width,
            height=height,
            timings={"decode": 0.0},
            plugins_versions=versions,
        )

    def _face(self, person: str, box: Box) -> Face:
        cx, cy = (box.x_min + box.x_max) // 2, (box.y_min + box.y_max) // 2
        w, h = box.x_max - box.x_min, box.y_max - box.y_min
        points = [(cx - w // 5, cy - h // 6), (cx + w // 5, cy - h // 6), (cx, cy)]
        points += [(cx - w // 6, cy + h // 5), (cx + w // 6, cy + h // 5)]
        return Face(box=box, landmarks=points)

    def _describe(self, face: Face, person: str, slugs: frozenset[str]) -> None:
        if face_plugins.CALCULATOR in slugs:
            seed = int.from_bytes(hashlib.sha256(person.encode()).digest()[:8], "little")
            face.embedding = (
                np.random.default_rng(seed).normal(size=self.dimensions).astype(np.float32)
            )
        if face_plugins.AGE in slugs:
            face.age = AgeRange(low=25, high=32, probability=0.9)
        if face_plugins.GENDER in slugs:
            face.gender = Gender(value="male", probability=0.9)
        if face_plugins.POSE in slugs:
            face.pose = Pose(pitch=0.0, roll=0.0, yaw=0.0)
        if face_plugins.LANDMARKS68 in slugs:
            face.landmarks68 = [face.landmarks[i % 5] for i in range(68)]
        face.execution_time = {slug: 0.0 for slug in slugs}
