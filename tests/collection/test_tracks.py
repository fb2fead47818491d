"""The burst maths of collection/tracks.py: overlap, weights, following faces across frames, and
the vote that gives each track one answer."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from facegate.collection.tracks import (
    MIN_WEIGHT,
    Sighting,
    iou,
    track,
    vote,
    weight,
)
from facegate.engine.faces import Quality
from facegate.engine.similarity import Scale, normalize

SCALE = Scale(c0=1.0, c1=5.0)  # 0.5 at distance 1 (a right angle between unit vectors)
ANN, BOB = normalize([1.0, 0.0, 0.0]), normalize([0.0, 1.0, 0.0])


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    return float(SCALE.similarities(a, b[np.newaxis])[0])


def seen(
    frame: int,
    x: float,
    vector: np.ndarray = ANN,
    *,
    weight: float = 1.0,
    subject: str | None = "ann",
    similarity: float | None = 0.9,
) -> Sighting:
    return Sighting(frame, (x, 0.0, x + 100.0, 100.0), vector, weight, subject, similarity)


GOOD = Quality(
    eye_distance=40.0,
    sharpness=200.0,
    brightness=0.4,
    clipped=0.0,
    yaw=0.0,
    pitch=0.0,
    roll=0.0,
    detection=1.0,
)


def good(**changes: float) -> Quality:
    return dataclasses.replace(GOOD, **changes)


def test_iou() -> None:
    assert iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # touching is not overlapping
    assert iou((0, 0, 0, 10), (0, 0, 0, 10)) == 0.0  # no area


def test_weight_saturates_where_recognition_stops_improving() -> None:
    box = (0.0, 0.0, 100.0, 100.0)
    assert weight(good(), probability=1.0, box=box) == 1.0
    assert weight(good(eye_distance=15.0), probability=1.0, box=box) == pytest.approx(0.5)
    assert weight(good(sharpness=20.0), probability=1.0, box=box) == pytest.approx(0.25)
    assert weight(good(brightness=0.11), probability=1.0, box=box) == pytest.approx(0.5)
    assert weight(good(brightness=0.8), probability=1.0, box=box) == pytest.approx(0.5)
    assert weight(good(), probability=0.7, box=box) == pytest.approx(0.7)
    assert weight(good(brightness=0.0), probability=1.0, box=box) == MIN_WEIGHT
    # Without the quality measures, the size comes from the box (eyes: 0.4 of its width).
    assert weight(None, probability=1.0, box=(0.0, 0.0, 37.5, 40.0)) == pytest.approx(0.5)


def test_a_face_that_stays_in_place_is_one_track() -> None:
    frames = [[seen(0, 0)], [seen(1, 10)], [seen(2, 20)]]
    assert [[s.frame for s in t] for t in track(frames, similarity)] == [[0, 1, 2]]


def test_a_face_that_moved_far_is_followed_by_its_look() -> None:
    frames = [[seen(0, 0)], [seen(1, 500)]]
    assert len(track(frames, similarity)) == 1
    stranger = [[seen(0, 0)], [seen(1, 500, BOB)]]
    assert len(track(stranger, similarity)) == 2


def test_two_people_keep_their_tracks_and_each_takes_one_face_per_frame() -> None:
    frames = [
        [seen(0, 0, ANN), seen(0, 300, BOB, subject="bob")],
        # Listed the other way round, and Bob's box now overlaps Ann's last one a little.
        [seen(1, 280, BOB, subject="bob"), seen(1, 20, ANN)],
        [seen(2, 40, ANN)],
    ]
    followed = track(frames, similarity)
    assert [[(s.frame, s.subject) for s in t] for t in followed] == [
        [(0, "ann"), (1, "ann"), (2, "ann")],
        [(0, "bob"), (1, "bob")],
    ]


def test_one_good_frame_outweighs_poor_ones() -> None:
    sightings = [
        seen(0, 0, weight=0.05, subject="bob", similarity=0.3),  # poor: unknown
        seen(1, 0, weight=0.05, subject="cyd", similarity=0.55),  # poor and wrong
        seen(2, 0, weight=0.9, subject="ann", similarity=0.95),  # the good one
        seen(3, 0, weight=0.05, subject=None, similarity=None),  # nothing stored matched
    ]
    verdict = vote(sightings, threshold=None)
    assert (verdict.subject, verdict.closest) == ("ann", "ann")
    assert verdict.similarity == pytest.approx(0.95)
    assert verdict.support == pytest.approx(0.9 / 1.05)
    # The first frame alone is not recognised.
    assert vote(sightings[:1], threshold=None).subject is None


def test_the_similarity_is_the_mean_of_the_voters_weighted() -> None:
    sightings = [seen(0, 0, weight=1.0, similarity=0.9), seen(1, 0, weight=3.0, similarity=0.7)]
    assert vote(sightings, threshold=None).similarity == pytest.approx(0.75)


def test_an_unknown_track_names_its_closest_match() -> None:
    sightings = [
        seen(0, 0, weight=1.0, subject="bob", similarity=0.3),
        seen(1, 0, weight=1.0, subject="ann", similarity=0.45),
        seen(2, 0, weight=0.5, subject="ann", similarity=0.8),  # outweighed
    ]
    verdict = vote(sightings, threshold=None)
    assert (verdict.subject, verdict.closest, verdict.similarity) == (None, "ann", 0.8)
    assert verdict.support == pytest.approx(0.8)


def test_the_threshold_in_force_decides_what_is_recognised() -> None:
    sightings = [seen(0, 0, similarity=0.8)]
    assert vote(sightings, threshold=0.85).subject is None
    assert vote(sightings, threshold=0.8).subject == "ann"


def test_a_tie_goes_to_the_known_subject() -> None:
    sightings = [seen(0, 0, similarity=0.9), seen(1, 0, subject="bob", similarity=0.2)]
    assert vote(sightings, threshold=None).subject == "ann"
