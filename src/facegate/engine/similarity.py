"""Embedding similarity: CompreFace's tanh mapping of Euclidean distance, fitted for our model."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float32]

# Fitted on every pair of known faces in shared/faces (63 same-person, 315 different-person
# pairs; docs/models.md): C0 is the midpoint between the largest same-person distance and the
# smallest different-person distance, so 0.5 is the boundary; C1 makes the median same-person
# pair score 0.99. Re-derive with `fit` when the embedder or the alignment changes.
C0 = 0.385
C1 = 18.4
SAME_MEDIAN_SIMILARITY = 0.99


def normalize(x: npt.ArrayLike) -> Floats:
    """Rows (or one vector) scaled to unit L2 norm, as float32; zero rows stay zero."""
    array = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    normed: Floats = (array / np.where(norms == 0, 1, norms)).astype(np.float32)
    return normed


def from_distance(distance: npt.ArrayLike, c0: float = C0, c1: float = C1) -> Floats:
    """CompreFace's `(tanh((c0 - d) * c1) + 1) / 2` on distances of normalised embeddings."""
    d = np.asarray(distance, dtype=np.float32)
    scores: Floats = ((np.tanh((c0 - d) * c1) + 1) / 2).astype(np.float32)
    return scores


def similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> float:
    """Similarity in [0, 1] of two raw embeddings; >= 0.5 means the same person."""
    return float(from_distance(np.linalg.norm(normalize(a) - normalize(b))))


def similarities(query_normed: Floats, matrix_normed: Floats) -> Floats:
    """Similarity of one normalised query (D,) to each normalised row of (N, D)."""
    # |a - b|^2 = 2 - 2 a.b for unit vectors: one matrix product instead of N subtractions.
    squared = np.clip(2.0 - 2.0 * (matrix_normed @ query_normed), 0.0, None)
    return from_distance(np.sqrt(squared))


def fit(same: npt.ArrayLike, different: npt.ArrayLike) -> tuple[float, float]:
    """(c0, c1) from same-person and different-person distances (see the constants above)."""
    same_d = np.asarray(same, dtype=np.float64)
    different_d = np.asarray(different, dtype=np.float64)
    c0 = float(same_d.max() + different_d.min()) / 2
    c1 = math.atanh(2 * SAME_MEDIAN_SIMILARITY - 1) / (c0 - float(np.median(same_d)))
    return c0, c1
