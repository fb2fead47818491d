"""Embedding similarity: CompreFace's tanh mapping of Euclidean distance, one scale per model.

Each model set carries its own `Scale` (docs/models.md, "Similarity"): the coefficients are
fitted on labelled photos by `fit`, so that 0.5 is where the model accepts FALSE_ACCEPT_RATE of
different-person pairs, the same promise on every model set (decisions.md D60).
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
# The share of different-person pairs that score BALANCE or more (decisions.md D60).
FALSE_ACCEPT_RATE = 1e-3
# The rates each model set publishes the similarity of (docs/models.md, `/admin/config`).
FALSE_ACCEPT_RATES = (1e-2, 1e-3, 1e-4, 1e-5)
# Where `fit` puts FALSE_ACCEPT_RATE: a face whose best match scores under it is not
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


@dataclass(frozen=True)
class ClusterThresholds:
    """Unknown-face clustering (`collection.clusters`): a face joins the nearest cluster whose
    centroid scores at least `join`; after the join, clusters whose centroids score at least
    `merge` with the grown one merge into it. Each model set declares its own (decisions.md
    D27)."""

    join: float
    merge: float


def dots(query: Floats, matrix: Floats) -> Floats:
    """The dot product of `query` with each row of `matrix` (or with one vector). Each row is
    summed on its own, not by BLAS, whose order of summing depends on the row's place in the
    matrix: a row scores the same among any rows, so both search backends answer alike."""
    products: Floats = np.sum(np.asarray(matrix) * query, axis=-1, dtype=np.float32)
    return products


@dataclass(frozen=True)
class FalseAccept:
    """The similarity at which `rate` of `pairs` different-person pairs score at least as much
    (`accepted` of them); None where the pairs are too few: under one accepted pair."""

    rate: float
    similarity: float | None
    pairs: int
    accepted: int


def accepting_distance(different: npt.ArrayLike, rate: float) -> float | None:
    """The distance within which `rate` of the different-person pair distances lie: halfway
    between the k-th and the next smallest, k = floor(rate * pairs), so that exactly k pairs
    are within it (None: k is 0, too few pairs for the rate)."""
    distances = np.sort(np.asarray(different, dtype=np.float64))
    k = math.floor(rate * len(distances))
    if k == 0 or k >= len(distances):
        return None
    return float(distances[k - 1] + distances[k]) / 2


def false_accepts(
    different: npt.ArrayLike, scale: Scale, rates: tuple[float, ...] = FALSE_ACCEPT_RATES
) -> tuple[FalseAccept, ...]:
    """The similarity under `scale` for each false-accept rate on these different-person pair
    distances (rounded to 3 places, as published)."""
    pairs = int(np.size(different))
    table = []
    for rate in rates:
        distance = accepting_distance(different, rate)
        similarity = None if distance is None else round(float(scale.from_distance(distance)), 3)
        table.append(FalseAccept(rate, similarity, pairs, math.floor(rate * pairs)))
    return tuple(table)


def fit(
    same: npt.ArrayLike, different: npt.ArrayLike, *, false_accept_rate: float = FALSE_ACCEPT_RATE
) -> Scale:
    """The scale for same-person and different-person pair distances.

    c0, the distance that scores BALANCE, is the one within which `false_accept_rate` of the
    different-person pairs lie (`accepting_distance`): the different-person side carries over
    between photo sets far better than the same-person side, and there are far more of its
    pairs (decisions.md D60). c1 makes the median same-person pair score
    SAME_MEDIAN_SIMILARITY.
    """
    c0 = accepting_distance(different, false_accept_rate)
    if c0 is None:
        raise ValueError(
            f"{np.size(different)} different-person pairs are too few for a false-accept rate "
            f"of {false_accept_rate:g}: at least {math.ceil(1 / false_accept_rate)} are needed"
        )
    median_same = float(np.median(np.asarray(same, dtype=np.float64)))
    c1 = math.atanh(2 * SAME_MEDIAN_SIMILARITY - 1) / (c0 - median_same)
    return Scale(c0=round(c0, 5), c1=round(c1, 3))
