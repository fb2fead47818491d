"""Faces followed across the frames of a burst, and one answer per track by a weighted vote.

Pure numpy and plain data, so the burst recognition (`facegate.collection.bursts`), the
benchmark and the tests run the same rule (decisions.md D40, D41). Similarities are the model
set's calibrated scale (`engine.similarity.Scale`, 0.5 where 1 in 1,000 different-person
pairs score as much: decisions.md D60), so one link threshold serves every model set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from facegate.engine.faces import Quality
from facegate.engine.similarity import recognised

Floats = npt.NDArray[np.float32]
BoxTuple = tuple[float, float, float, float]  # x_min, y_min, x_max, y_max
# The calibrated similarity of two normalised vectors (the model set's Scale, or a test's).
SimilarityFn = Callable[[Floats, Floats], float]

# A face continues a track when its box overlaps the track's last box by this much (faces in
# consecutive frames of one camera barely move) or when it looks like the track's faces (a
# person who crossed the frame between two snapshots).
LINK_IOU = 0.3
LINK_SIMILARITY = 0.5
# Where each quality measure stops adding weight: twice the limits of docs/quality.md's
# stricter first rule (15 px between the eyes, sharpness 40: a fall of 0.01), the point where
# the measured median similarity is back at its undegraded level.
FULL_EYE_DISTANCE = 30.0
FULL_SHARPNESS = 80.0
# Brightness (0..1) inside this range takes full weight; outside it falls towards 0 and 1.
GOOD_BRIGHTNESS = (0.22, 0.6)
# No sighting weighs nothing: a burst of poor frames still gets an answer.
MIN_WEIGHT = 1e-3


def iou(a: BoxTuple, b: BoxTuple) -> float:
    """Intersection over union of two boxes; 0 when either has no area."""
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def weight(quality: Quality | None, *, probability: float, box: BoxTuple) -> float:
    """How much one sighting counts: the detector's score times its size, sharpness and light,
    each a share of 1 that saturates where recognition stops improving (docs/bursts.md).

    Without the quality measures, the size is read from the box (an eye distance is about 0.4
    of a face box's width)."""
    if quality is None:
        eyes = 0.4 * (box[2] - box[0])
        return max(MIN_WEIGHT, probability * min(1.0, eyes / FULL_EYE_DISTANCE))
    size = min(1.0, quality.eye_distance / FULL_EYE_DISTANCE)
    sharp = min(1.0, quality.sharpness / FULL_SHARPNESS)
    low, high = GOOD_BRIGHTNESS
    light = min(1.0, quality.brightness / low, (1.0 - quality.brightness) / (1.0 - high))
    return max(MIN_WEIGHT, probability * size * sharp * max(0.0, light))


@dataclass(frozen=True)
class Sighting:
    """One face in one frame: where, how it looks (`vector`, normalised), how much it counts,
    and its best match in the collection (`subject`, `similarity`; None: no match at all)."""

    frame: int
    box: BoxTuple
    vector: Floats
    weight: float
    subject: str | None
    similarity: float | None


def track(
    frames: Sequence[Sequence[Sighting]],
    similarity: SimilarityFn,
    *,
    link_iou: float = LINK_IOU,
    link_similarity: float = LINK_SIMILARITY,
) -> list[list[Sighting]]:
    """The sightings grouped into tracks, frame by frame, in order of first appearance.

    Each face of a frame continues at most one track, and each track takes at most one face
    per frame: candidate pairs are taken best first (by overlap with the track's last box,
    then by likeness to the track's faces) while both are free. `similarity(a, b)` is the
    calibrated similarity of two normalised vectors."""
    tracks: list[list[Sighting]] = []
    for sightings in frames:
        pairs = []
        for t, found in enumerate(tracks):
            centre = _centroid(found)
            for f, sighting in enumerate(sightings):
                overlap = iou(found[-1].box, sighting.box)
                alike = similarity(centre, sighting.vector)
                if overlap >= link_iou or alike >= link_similarity:
                    pairs.append((overlap + alike, t, f))
        taken_tracks: set[int] = set()
        taken_faces: set[int] = set()
        for _, t, f in sorted(pairs, reverse=True):
            if t in taken_tracks or f in taken_faces:
                continue
            tracks[t].append(sightings[f])
            taken_tracks.add(t)
            taken_faces.add(f)
        tracks.extend([s] for f, s in enumerate(sightings) if f not in taken_faces)
    return tracks


def _centroid(sightings: Sequence[Sighting]) -> Floats:
    """The track's look: the weighted mean of its vectors, normalised."""
    total = np.sum([s.weight * s.vector for s in sightings], axis=0)
    norm = float(np.linalg.norm(total))
    centre: Floats = (total / norm if norm > 0 else total).astype(np.float32)
    return centre


@dataclass(frozen=True)
class Verdict:
    """A track's answer: `subject` when recognised (None: unknown), its `similarity` (the
    weighted mean over the sightings that voted for it; for an unknown track the best seen),
    the best match of an unknown track (`closest`), and the share of the track's weight
    behind the answer."""

    subject: str | None
    similarity: float | None
    closest: str | None
    support: float


def vote(sightings: Sequence[Sighting], *, threshold: float | None) -> Verdict:
    """One answer for a track: each sighting puts its weight behind its best match when that
    match is recognised (at or over the threshold in force), else behind "unknown"; the
    heaviest answer wins, a known subject on a tie."""
    tally: dict[str | None, float] = {}
    for s in sightings:
        known = s.subject if recognised(s.similarity, threshold=threshold) else None
        tally[known] = tally.get(known, 0.0) + s.weight
    total = sum(tally.values())
    winner = max(tally, key=lambda name: (tally[name], name is not None))
    if winner is None:
        matched = [s for s in sightings if s.similarity is not None]
        best = max(matched, key=lambda s: s.similarity or 0.0, default=None)
        return Verdict(
            subject=None,
            similarity=None if best is None else best.similarity,
            closest=None if best is None else best.subject,
            support=tally[None] / total,
        )
    voters = [
        s
        for s in sightings
        if s.subject == winner and recognised(s.similarity, threshold=threshold)
    ]
    mean = sum(s.weight * (s.similarity or 0.0) for s in voters) / tally[winner]
    return Verdict(subject=winner, similarity=mean, closest=winner, support=tally[winner] / total)
