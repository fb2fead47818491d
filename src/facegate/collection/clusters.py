"""Incremental clustering of face embeddings, and the adjusted Rand index that measures it.

Pure numpy, so the store (`facegate.collection.unknown`), the benchmark and the tests run the
same rule. Similarities are the model set's calibrated scale (`engine.similarity.Scale`, 0.5
where 1 in 1,000 different-person pairs score as much: decisions.md D60); the thresholds are
fitted per model family (decisions.md D27).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from facegate.engine.similarity import ClusterThresholds, Scale, normalize

Floats = npt.NDArray[np.float32]


@dataclass(frozen=True)
class Placement:
    """Where a new face goes: `cluster` (a row of the sums; None: a cluster of its own), and
    the rows that then merge into that cluster."""

    cluster: int | None
    merged: tuple[int, ...] = ()


def place(sums: Floats, vector: Floats, scale: Scale, thresholds: ClusterThresholds) -> Placement:
    """The placement of a normalised `vector` among clusters given as sums of their members'
    normalised embeddings (rows of `sums`), by centroid similarity."""
    if len(sums) == 0:
        return Placement(None)
    centroids = normalize(sums)
    scores = scale.similarities(vector, centroids)
    best = int(np.argmax(scores))
    if scores[best] < thresholds.join:
        return Placement(None)
    grown = normalize(sums[best] + vector)
    closeness = scale.similarities(grown, centroids)
    closeness[best] = -1.0
    return Placement(best, tuple(int(i) for i in np.flatnonzero(closeness >= thresholds.merge)))


def cluster(vectors: Floats, scale: Scale, thresholds: ClusterThresholds) -> npt.NDArray[np.int64]:
    """A cluster label for each row of `vectors` (raw embeddings), placed one by one in order,
    as the store places faces as they are seen."""
    rows = normalize(vectors)
    sums = np.zeros((0, rows.shape[1]), dtype=np.float32)
    members: list[list[int]] = []
    for i, row in enumerate(rows):
        placement = place(sums, row, scale, thresholds)
        if placement.cluster is None:
            sums = np.vstack([sums, row])
            members.append([i])
            continue
        target = placement.cluster
        sums[target] += row
        members[target].append(i)
        for other in placement.merged:
            sums[target] += sums[other]
            members[target] += members[other]
        keep = [j for j in range(len(sums)) if j not in placement.merged]
        sums, members = sums[keep], [members[j] for j in keep]
    labels = np.zeros(len(rows), dtype=np.int64)
    for label, indices in enumerate(members):
        labels[indices] = label
    return labels


def _pairs(counts: npt.NDArray[np.int64]) -> float:
    """How many pairs the groups of these sizes hold."""
    return float((counts * (counts - 1) // 2).sum())


def _table(truth: npt.ArrayLike, found: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """The contingency table: items of true label i put in found cluster j."""
    _, a = np.unique(np.asarray(truth), return_inverse=True)
    _, b = np.unique(np.asarray(found), return_inverse=True)
    table = np.zeros((a.max() + 1, b.max() + 1), dtype=np.int64)
    np.add.at(table, (a.ravel(), b.ravel()), 1)
    return table


def adjusted_rand_index(truth: npt.ArrayLike, found: npt.ArrayLike) -> float:
    """Hubert and Arabie's adjusted Rand index of two labelings of the same items: 1 for the
    same partition, about 0 for a random one (the same formula as scikit-learn's)."""
    table = _table(truth, found)
    together, rows, columns = _pairs(table), _pairs(table.sum(1)), _pairs(table.sum(0))
    n = int(table.sum())
    total = n * (n - 1) / 2
    expected = rows * columns / total if total else 0.0
    maximum = (rows + columns) / 2
    if maximum == expected:  # both labelings all singletons or all one cluster: identical
        return 1.0
    return (together - expected) / (maximum - expected)


def pair_precision_recall(truth: npt.ArrayLike, found: npt.ArrayLike) -> tuple[float, float]:
    """Of the pairs put in one cluster, the share that are one person (purity); of the pairs
    of one person, the share put in one cluster (completeness). 1.0 where there are none."""
    table = _table(truth, found)
    together, true_pairs, found_pairs = _pairs(table), _pairs(table.sum(1)), _pairs(table.sum(0))
    precision = together / found_pairs if found_pairs else 1.0
    recall = together / true_pairs if true_pairs else 1.0
    return precision, recall
