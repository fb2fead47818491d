"""The clustering maths of collection/clusters.py: placing, merging, and the scores that
measure a clustering against labels (checked on scikit-learn's documented examples)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from facegate.collection.clusters import (
    Placement,
    adjusted_rand_index,
    cluster,
    pair_precision_recall,
    place,
)
from facegate.engine import model_sets
from facegate.engine.calibration import central_embedding
from facegate.engine.similarity import ClusterThresholds, Scale, normalize

SCALE = Scale(c0=1.0, c1=5.0)  # 0.5 at distance 1 (a right angle between unit vectors)


@pytest.mark.parametrize(
    ("truth", "found", "expected"),
    [
        ([0, 0, 1, 1], [0, 0, 1, 1], 1.0),
        ([0, 0, 1, 1], [1, 1, 0, 0], 1.0),  # the names of clusters do not matter
        ([0, 0, 1, 2], [0, 0, 1, 1], 0.5714285714),
        ([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2], 0.2424242424),
        ([0, 0, 1, 1], [0, 1, 0, 1], -0.5),
        (["a", "a", "b"], [7, 7, 9], 1.0),
    ],
)
def test_adjusted_rand_index_matches_scikit_learn(
    truth: list[object], found: list[int], expected: float
) -> None:
    assert adjusted_rand_index(truth, found) == pytest.approx(expected)


def test_pairwise_purity_and_completeness() -> None:
    # One cluster holds persons 1 and 2 (impure); person 0 is split in two (incomplete).
    truth, found = [0, 0, 1, 2], [0, 1, 2, 2]
    assert pair_precision_recall(truth, found) == (0.0, 0.0)
    assert pair_precision_recall([0, 0, 1, 1], [0, 0, 0, 1]) == (pytest.approx(1 / 3), 0.5)
    assert pair_precision_recall([0, 1], [0, 1]) == (1.0, 1.0)  # no pairs at all


def _unit(*values: float) -> np.ndarray:
    return normalize(np.array(values, dtype=np.float32))


def test_a_face_joins_the_nearest_close_cluster_or_starts_one() -> None:
    sums = np.stack([_unit(1, 0, 0), _unit(0, 1, 0) * 2])
    thresholds = ClusterThresholds(join=0.9, merge=0.99)
    assert place(sums, _unit(1, 0.05, 0), SCALE, thresholds) == Placement(0)
    assert place(sums, _unit(0.05, 1, 0), SCALE, thresholds) == Placement(1)
    assert place(sums, _unit(0, 0, 1), SCALE, thresholds) == Placement(None)
    assert place(sums[:0], _unit(0, 0, 1), SCALE, thresholds) == Placement(None)


def test_clusters_that_a_join_brings_close_merge() -> None:
    # Two clusters either side of a face between them: it joins one and the two merge.
    sums = np.stack([_unit(1, 0.3, 0), _unit(1, -0.3, 0)])
    placement = place(sums, _unit(1, 0, 0), SCALE, ClusterThresholds(join=0.9, merge=0.9))
    assert placement.cluster in (0, 1) and placement.merged == (1 - placement.cluster,)
    assert place(sums, _unit(1, 0, 0), SCALE, ClusterThresholds(join=0.9, merge=1.01)).merged == ()


def test_cluster_labels_people_apart() -> None:
    rng = np.random.default_rng(0)
    people = normalize(rng.normal(size=(5, 64)))
    faces = np.repeat(people, 4, axis=0) + rng.normal(scale=0.02, size=(20, 64))
    labels = cluster(faces.astype(np.float32), SCALE, ClusterThresholds(join=0.9, merge=0.95))
    assert adjusted_rand_index(np.repeat(np.arange(5), 4), labels) == 1.0


def test_each_model_set_declares_its_familys_thresholds(model_engine: Any) -> None:
    expected = {"dlib": model_sets.DLIB_CLUSTERS, "insightface-s": model_sets.ARCFACE_CLUSTERS}
    assert model_engine.cluster_thresholds == expected[model_engine.model]


def test_a_new_users_strangers_group_by_person_on_every_model_set(
    model_engine: Any, lfw_dir: Path
) -> None:
    """The new-user report's case: four photos of George Clooney, then three of Paul
    Tagliabue, recognised with nobody enrolled. dlib made seven one-face groups under its
    thresholds before decisions.md D92; now no group mixes the two and there are at most
    three."""
    files = [f"George_Clooney_000{i}.jpg" for i in (1, 2, 3, 4)] + [
        f"Paul_Tagliabue_000{i}.jpg" for i in (1, 2, 3)
    ]
    vectors = [
        central_embedding(model_engine, (lfw_dir / "images" / name).read_bytes()) for name in files
    ]
    labels = cluster(
        np.stack([v for v in vectors if v is not None]).astype(np.float32),
        model_engine.scale,
        model_engine.cluster_thresholds,
    )
    assert len(labels) == 7
    assert not set(labels[:4].tolist()) & set(labels[4:].tolist())
    assert len(set(labels.tolist())) <= 3
