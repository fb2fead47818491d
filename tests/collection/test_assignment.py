"""facegate.collection.assignment: subjects shared out among a photo's faces (decisions.md D67)."""

from __future__ import annotations

from facegate.collection.assignment import assign
from facegate.collection.search import Match


def m(subject: str, similarity: float) -> Match:
    return Match(f"{subject}-example", subject, similarity)


def test_each_subject_goes_to_one_face_by_the_best_total() -> None:
    # Both faces like "a" best; giving "a" to the first and "b" to the second scores 0.9 + 0.8,
    # the other way 0.95 + 0.6.
    faces = [[m("a", 0.9), m("b", 0.6)], [m("a", 0.95), m("b", 0.8)]]
    assert assign(faces, threshold=0.5) == ["a", "b"]


def test_a_face_that_loses_its_only_subject_gets_none() -> None:
    assert assign([[m("a", 0.7)], [m("a", 0.9)], []], threshold=None) == [None, "a", None]


def test_matches_that_are_not_recognised_are_never_given() -> None:
    faces = [[m("a", 0.9)], [m("a", 0.8), m("b", 0.4)]]
    assert assign(faces, threshold=None) == ["a", None]
    assert assign(faces, threshold=0.3) == ["a", "b"]


def test_one_subject_listed_twice_for_a_face_counts_once() -> None:
    faces = [[m("a", 0.9), m("a", 0.85)], [m("b", 0.7)]]
    assert assign(faces, threshold=0.5) == ["a", "b"]
