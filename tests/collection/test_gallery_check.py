"""facegate.collection.gallery_check: the findings over synthetic galleries whose answers are
known (decisions.md D65); the real photos are checked end to end in tests/api."""

from __future__ import annotations

import numpy as np
import pytest

from facegate.collection.gallery_check import Gallery, Strangers, check
from facegate.engine.model_sets import DLIB_SCALE
from facegate.engine.similarity import normalize

RNG = np.random.default_rng(7)


def people(count: int, photos: int, spread: float = 0.18) -> tuple[np.ndarray, np.ndarray]:
    """`photos` embeddings of each of `count` people, as dlib places faces: two people about
    0.65 apart (cosine 0.79 around a shared direction), two photos of one about 0.25."""
    shared = normalize(RNG.normal(size=128))
    centres = normalize(shared + 0.52 * RNG.normal(size=(count, 128)) / np.sqrt(128))
    noise = spread * RNG.normal(size=(count * photos, 128)) / np.sqrt(128)
    return normalize(np.repeat(centres, photos, axis=0) + noise), np.repeat(
        np.arange(count), photos
    )


def gallery(vectors: np.ndarray, subjects: np.ndarray, aside: tuple[int, ...] = ()) -> Gallery:
    flags = np.zeros(len(vectors), dtype=bool)
    flags[list(aside)] = True
    return Gallery(
        [f"e{i}" for i in range(len(vectors))],
        subjects.astype(np.int64),
        {int(s): f"s{s}" for s in set(subjects.tolist())},
        normalize(vectors),
        flags,
    )


NO_STRANGERS = Strangers([], np.zeros((0, 0), dtype=np.float32))


def test_distinct_people_give_no_finding_and_a_threshold_from_many_pairs() -> None:
    vectors, subjects = people(60, 3)
    report = check(gallery(vectors, subjects), NO_STRANGERS, scale=DLIB_SCALE, threshold=None)
    assert report.outliers == report.confusable == report.duplicates == []
    advice = report.threshold
    assert advice.pairs == 180 * 179 // 2 - 60 * 3 and advice.same_pairs == 180
    assert set(advice.by_rate) == {1e-4, 1e-3, 1e-2}
    assert advice.suggested == advice.by_rate[1e-3] and advice.suggested_rate == 1e-3
    assert advice.by_rate[1e-4] >= advice.by_rate[1e-3] >= advice.by_rate[1e-2]
    assert advice.current_false_accept_rate == 0.0
    assert advice.suggested_false_reject_rate is not None and report.notes == []


def test_people_more_alike_than_the_calibration_get_a_note_to_prefer_the_suggestion() -> None:
    # A tighter crowd: people about 0.35 apart, where dlib's 0.5 lies at 0.387 (its own
    # generator, so that the other tests' draws stay as they were).
    rng = np.random.default_rng(11)
    shared = normalize(rng.normal(size=128))
    centres = normalize(shared + 0.25 * rng.normal(size=(60, 128)) / np.sqrt(128))
    noise = 0.1 * rng.normal(size=(180, 128)) / np.sqrt(128)
    vectors, subjects = normalize(np.repeat(centres, 3, axis=0) + noise), np.repeat(range(60), 3)
    report = check(gallery(vectors, subjects), NO_STRANGERS, scale=DLIB_SCALE, threshold=None)
    advice = report.threshold
    assert advice.current_false_accept_rate is not None
    assert advice.current_false_accept_rate > 5e-3
    assert advice.suggested is not None and advice.suggested > 0.5
    assert (
        len(report.notes) == 1
        and "more alike than the people it was calibrated on" in (report.notes[0])
    )


def test_a_planted_face_a_lookalike_pair_a_duplicate_and_a_stranger_are_found() -> None:
    vectors, subjects = people(5, 4)
    vectors[3] = vectors[7]  # subject 0's fourth example is subject 1's face: an outlier
    vectors[19] = normalize(vectors[18] + 0.003 * RNG.normal(size=128))  # a near-duplicate
    vectors[8] = normalize(vectors[12] + 0.025 * RNG.normal(size=128))  # 2 and 3 look alike
    stranger = normalize(vectors[16] + 0.04 * RNG.normal(size=128))
    report = check(
        gallery(vectors, subjects),
        Strangers(["u1"], stranger[None, :]),
        scale=DLIB_SCALE,
        threshold=0.5,
    )
    assert [o.image_id for o in report.outliers] == ["e3", "e8"]
    pairs = {frozenset(p.subjects) for p in report.confusable}
    assert pairs == {frozenset({"s0", "s1"}), frozenset({"s2", "s3"})}
    # The planted face is subject 1's own, copied: a duplicate under two names too.
    assert [p.image_ids for p in report.duplicates] == [("e3", "e7"), ("e18", "e19")]
    [found] = report.strangers
    assert found.subject == "s4" and found.similarity == pytest.approx(
        DLIB_SCALE.similarity(stranger, vectors[int(found.image_id[1:])]), abs=1e-5
    )


def test_examples_set_aside_are_left_out_and_listed() -> None:
    vectors, subjects = people(3, 3)
    vectors[0] = vectors[4]
    report = check(
        gallery(vectors, subjects, aside=(0,)), NO_STRANGERS, scale=DLIB_SCALE, threshold=None
    )
    assert report.set_aside == [("e0", "s0")] and report.examples == 8
    assert report.outliers == report.confusable == []


def test_an_empty_gallery_has_nothing_to_say() -> None:
    empty = gallery(np.zeros((0, 128), dtype=np.float32), np.zeros(0, dtype=np.int64))
    report = check(empty, NO_STRANGERS, scale=DLIB_SCALE, threshold=None)
    assert (report.examples, report.subjects, report.threshold.pairs) == (0, 0, 0)
    assert report.threshold.current_false_accept_rate is None and report.notes
