"""Recognition over several frames: every face of every frame searched in the service's
collection, followed across the frames, and one answer per track (decisions.md D40, D41).

The HTTP endpoint, the CLI and the Frigate companion all call `recognize` with the matcher
of `Recognitions.matcher`, so a frame's faces are matched as one photo's are (rejections, one
subject per photo); the tracking and voting maths is in `facegate.collection.tracks`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from facegate.collection import tracks
from facegate.collection.search import Match
from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Face, FaceRequest
from facegate.engine.similarity import normalize
from facegate.errors import NoFaceFound
from facegate.inference import FaceQuery, Image, Inference, embeddings

# The matches of one frame's faces (their embeddings, one row each), each face's best first.
Matcher = Callable[[npt.NDArray[np.float32]], list[list[Match]]]


@dataclass(frozen=True)
class Evidence:
    """One face of one frame in a track: the face, its matches (best first) and its sighting
    (box, weight, best match) as the vote used it."""

    face: Face
    matches: list[Match]
    sighting: tracks.Sighting


@dataclass(frozen=True)
class Track:
    """One person across the frames: the verdict and the evidence, frame by frame."""

    verdict: tracks.Verdict
    evidence: list[Evidence]

    @property
    def best(self) -> Evidence:
        """The heaviest sighting: the face a reader (or the unknown faces) should look at."""
        return max(self.evidence, key=lambda e: e.sighting.weight)


@dataclass(frozen=True)
class Burst:
    """A burst's result: the faces found in each frame (by frame number) and the tracks."""

    faces_per_frame: list[int]
    tracks: list[Track]


def recognize(
    inference: Inference,
    frames: Sequence[Image],
    *,
    query: FaceQuery,
    match: Matcher,
    min_similarity: float | None = None,
    pictures: bool = False,
) -> Burst:
    """Recognise the faces of `frames` (in time order) as tracks with one answer each.

    `query` as recognize's (its limit counts per frame; the `quality` plugin always runs, for
    the weights); `match`: each frame's faces matched as one photo's, one entry per subject
    (`Recognitions.matcher`); `min_similarity`: the threshold in force (None: BALANCE, the
    scale's 0.5), for the vote. A frame without a face adds nothing; a burst without a face
    anywhere is CompreFace's error 28, as one photo without a face is."""
    # Checked once here, so a bad threshold is not taken for a frame without a face below.
    FaceRequest(det_prob_threshold=query.det_prob_threshold, limit=query.limit)
    # The weights want the quality measures; an engine without them (a test's) sizes by box.
    offered = face_plugins.QUALITY in inference.engine.plugins_versions
    measured = dataclasses.replace(
        query, plugins=sorted({*query.plugins, face_plugins.QUALITY}) if offered else query.plugins
    )
    per_frame: list[list[tracks.Sighting]] = []
    found: dict[int, tuple[Face, list[Match]]] = {}
    for number, image in enumerate(frames):
        try:
            faces = inference.faces(image, measured, pictures=pictures).faces
        except NoFaceFound:
            per_frame.append([])
            continue
        vectors = embeddings(faces)
        sightings = []
        for face, vector, matches in zip(faces, normalize(vectors), match(vectors), strict=True):
            sighting = _sighting(number, face, vector, matches)
            found[id(sighting)] = (face, matches)
            sightings.append(sighting)
        per_frame.append(sightings)
    if not any(per_frame):
        raise NoFaceFound()
    scale = inference.scale

    def similarity(a: tracks.Floats, b: tracks.Floats) -> float:
        return float(scale.similarities(a, b[np.newaxis])[0])

    result = []
    for followed in tracks.track(per_frame, similarity):
        evidence = [Evidence(*found[id(s)], sighting=s) for s in followed]
        verdict = tracks.vote(followed, threshold=min_similarity)
        result.append(Track(verdict, evidence))
    return Burst([len(sightings) for sightings in per_frame], result)


def _sighting(
    number: int, face: Face, vector: tracks.Floats, matches: list[Match]
) -> tracks.Sighting:
    box = face.box
    corners = (float(box.x_min), float(box.y_min), float(box.x_max), float(box.y_max))
    best = matches[0] if matches else None
    return tracks.Sighting(
        frame=number,
        box=corners,
        vector=vector,
        weight=tracks.weight(face.quality, probability=box.probability, box=corners),
        subject=None if best is None else best.subject,
        similarity=None if best is None else best.similarity,
    )
