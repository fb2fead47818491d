"""Embedding similarity: CompreFace's tanh mapping of Euclidean distance, one scale per model.

Each model set carries its own `Scale` (docs/models.md, "Similarity"): the coefficients are
fitted on labelled photo pairs by `fit`, so that 0.5 is where the model's same-person and
different-person errors balance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import numpy.typing as npt

from facegate.engine.types import Floats

# `fit` makes the median same-person pair score this much.
SAME_MEDIAN_SIMILARITY = 0.99
# Where `fit` balances a model's errors: a face whose best match scores under it is not
# recognised, unless a threshold says otherwise (events, unknown faces: decisions.md D21, D26).
BALANCE = 0.5
_FIVE_PLACES = Decimal("0.00001")


def recognised(best: float | None, *, threshold: float | None) -> bool:
    """Whether a face whose best match scored `best` (None: no match) is recognised: at or over
    `threshold`, else over BALANCE. Compared as answers show similarities (5 places)."""
    return best is not None and round5(best) >= (BALANCE if threshold is None else threshold)


def round5(value: float) -> float:
    """CompreFace's `BigDecimal.setScale(5, HALF_UP)` on the value as Java prints it."""
    return float(Decimal(repr(float(value))).quantize(_FIVE_PLACES, rounding=ROUND_HALF_UP))


def normalize(x: npt.ArrayLike) -> Floats:
    """Rows (or one vector) scaled to unit L2 norm, as float32; zero rows stay zero."""
    array = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(array, axis=-1, keepdims=True)
    normed: Floats = (array / np.where(norms == 0, 1, norms)).astype(np.float32)
    return normed


@dataclass(frozen=True)
class Scale:
    """CompreFace's `(tanh((c0 - d) * c1) + 1) / 2` on distances of normalised embeddings:
    `c0` is the distance that scores 0.5, `c1` how steeply scores fall around it."""

    c0: float
    c1: float

    def from_distance(self, distance: npt.ArrayLike) -> Floats:
        d = np.asarray(distance, dtype=np.float32)
        scores: Floats = ((np.tanh((self.c0 - d) * self.c1) + 1) / 2).astype(np.float32)
        return scores

    def similarity(self, a: npt.ArrayLike, b: npt.ArrayLike) -> float:
        """Similarity in [0, 1] of two raw embeddings; >= 0.5 means the same person."""
        return float(self.from_distance(np.linalg.norm(normalize(a) - normalize(b))))

    def similarities(self, query_normed: Floats, matrix_normed: Floats) -> Floats:
        """Similarity of one normalised query (D,) to each normalised row of (N, D)."""
        return self.from_dots(dots(query_normed, matrix_normed))

    def from_dots(self, products: npt.ArrayLike) -> Floats:
        """Similarities from dot products of normalised embeddings."""
        # |a - b|^2 = 2 - 2 a.b for unit vectors: one product instead of a subtraction per row.
        squared = np.clip(2.0 - 2.0 * np.asarray(products, dtype=np.float32), 0.0, None)
        return self.from_distance(np.sqrt(squared))


def dots(query: Floats, matrix: Floats) -> Floats:
    """The dot product of `query` with each row of `matrix` (or with one vector). Each row is
    summed on its own, not by BLAS, whose order of summing depends on the row's place in the
    matrix: a row scores the same among any rows, so both search backends answer alike."""
    products: Floats = np.sum(np.asarray(matrix) * query, axis=-1, dtype=np.float32)
    return products


def fit(same: npt.ArrayLike, different: npt.ArrayLike) -> Scale:
    """The scale for same-person and different-person pair distances.

    c0 is where the two errors balance: the distance that minimises the larger of the rate of
    same-person pairs beyond it and the rate of different-person pairs within it; where a range
    of distances does (a gap between the two sides), its middle. c1 makes the median
    same-person pair score SAME_MEDIAN_SIMILARITY.
    """
    same_d = np.sort(np.asarray(same, dtype=np.float64))
    different_d = np.sort(np.asarray(different, dtype=np.float64))
    edges = np.unique(np.concatenate([same_d, different_d]))
    candidates = (edges[:-1] + edges[1:]) / 2  # one threshold between each pair of distances
    false_reject = 1 - np.searchsorted(same_d, candidates, side="right") / len(same_d)
    false_accept = np.searchsorted(different_d, candidates, side="right") / len(different_d)
    worst = np.maximum(false_reject, false_accept)
    best = np.flatnonzero(np.isclose(worst, worst.min(), rtol=0, atol=1e-12))
    # The balanced range runs from the distance below the first best threshold to the one above
    # the last: its middle stays put when one more pair lands near an edge.
    c0 = float(edges[best[0]] + edges[best[-1] + 1]) / 2
    c1 = math.atanh(2 * SAME_MEDIAN_SIMILARITY - 1) / (c0 - float(np.median(same_d)))
    return Scale(c0=round(c0, 4), c1=round(c1, 3))
