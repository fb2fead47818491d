"""The gallery check of a recognition service: what in its examples may make recognition wrong
(decisions.md D65, docs/gallery-check.md).

Over the service's stored embeddings by the current model: examples far from their subject's
others (outliers), subjects whose examples come close to another's (confusable pairs),
near-duplicate examples, the kept unknown faces that come closest to a subject (strangers), and
a threshold suggested by the service's own cross-subject pairs with its expected false-accept
rate. `check` is pure numpy over what `read` gathers; `refused_by_gate` runs the engine on the
kept photos, so it is asked for apart (it costs one inference per example).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session

from facegate.collection import quality_gate, reads
from facegate.collection.quality_gate import QualityLimits
from facegate.db.tables import Embedding, Example, Service, Subject, UnknownFace
from facegate.engine import plugins as face_plugins
from facegate.engine.similarity import BALANCE, Scale, normalize
from facegate.errors import NoFaceFound
from facegate.inference import FaceQuery, Image, Inference

# Two examples this close hold the same face (the same photo again, re-encoded or resized), as
# a share of the distance that scores 0.5 (`Scale.c0`): measured in docs/gallery-check.md, the
# same photo re-encoded came within 0.21 of it on both model sets, two photos of one person
# (lfw-dev) never within 0.45.
DUPLICATE = 0.3
# False-accept rates the suggestion is worked out for, the lowest the data supports first.
RATES = (1e-4, 1e-3, 1e-2)
# The rate the suggested threshold aims at: one different-person pair in a thousand.
TARGET_RATE = 1e-3
# The service's own pairs accept this many times the target rate at the threshold in force:
# its people look more alike to the model than the calibration photos' (on FG-NET's children
# and old scans the published 0.5 accepts 50 times the rate: docs/models.md "Age gaps and
# children"), so the note says to prefer the suggestion.
ALIKE = 5
# Rows compared at a time: a (CHUNK, examples) block of similarities stays a few MB.
CHUNK = 1024
# Findings of each kind listed at most, the worst first.
LISTED = 100


@dataclass(frozen=True)
class Gallery:
    """A service's examples embedded by one model: row i is example `ids[i]` of subject
    `subjects[i]`, set aside when `aside[i]`."""

    ids: list[str]
    subjects: npt.NDArray[np.int64]
    names: dict[int, str]
    vectors: npt.NDArray[np.float32]  # normalised rows
    aside: npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Strangers:
    """Kept unknown faces embedded by the same model: row i is face `ids[i]`."""

    ids: list[str]
    vectors: npt.NDArray[np.float32]


@dataclass(frozen=True)
class Outlier:
    image_id: str
    subject: str
    similarity: float  # the median similarity to the subject's other examples


@dataclass(frozen=True)
class Pair:
    """Two examples: of two subjects that come close (confusable), or of one face twice."""

    image_ids: tuple[str, str]
    subjects: tuple[str, str]
    similarity: float


@dataclass(frozen=True)
class Stranger:
    face_id: str
    image_id: str
    subject: str
    similarity: float


@dataclass(frozen=True)
class Threshold:
    """The threshold in force, and one suggested by the service's own pairs (decisions.md D65).

    `pairs`: example pairs of different subjects (each subject taken for a different person);
    `by_rate`: for each false-accept rate, the similarity that accepts that share of them,
    where there are enough pairs to say (1 / rate at least)."""

    current: float
    current_false_accept_rate: float | None
    pairs: int
    same_pairs: int
    by_rate: dict[float, float]
    suggested: float | None
    suggested_rate: float | None
    suggested_false_reject_rate: float | None


@dataclass(frozen=True)
class Report:
    examples: int
    subjects: int
    set_aside: list[tuple[str, str]]  # (image id, subject)
    outliers: list[Outlier]
    confusable: list[Pair]
    duplicates: list[Pair]
    strangers: list[Stranger]
    threshold: Threshold
    notes: list[str] = field(default_factory=list)


def read(s: Session, *, service: Service, calculator: str) -> tuple[Gallery, Strangers]:
    """The service's examples and kept unknown faces embedded by `calculator`."""
    rows = s.execute(
        select(Example.id, Subject.id, Embedding.vector, Example.set_aside_at)
        .join(Subject, Subject.id == Example.subject_id)
        .join(Embedding, Embedding.example_id == Example.id)
        .where(Subject.service_id == service.id, Embedding.calculator == calculator)
        .order_by(Subject.id, Example.created_at, Example.id)
    ).all()
    faces = s.execute(
        select(UnknownFace.id, UnknownFace.embedding).where(
            UnknownFace.service_id == service.id, UnknownFace.calculator == calculator
        )
    ).all()
    gallery = Gallery(
        [row[0] for row in rows],
        np.array([row[1] for row in rows], dtype=np.int64),
        reads.subject_names(s, service_id=service.id),
        _matrix([row[2] for row in rows]),
        np.array([row[3] is not None for row in rows], dtype=bool),
    )
    return gallery, Strangers([row[0] for row in faces], _matrix([row[1] for row in faces]))


def _matrix(blobs: list[bytes]) -> npt.NDArray[np.float32]:
    if not blobs:
        return np.zeros((0, 0), dtype=np.float32)
    return normalize(np.stack([reads.as_vector(blob) for blob in blobs]))


def check(
    gallery: Gallery, strangers: Strangers, *, scale: Scale, threshold: float | None
) -> Report:
    """Every finding over the examples that search uses (not those set aside)."""
    bar = BALANCE if threshold is None else threshold
    active = np.flatnonzero(~gallery.aside)
    vectors, subjects = gallery.vectors[active], gallery.subjects[active]
    ids = [gallery.ids[i] for i in active]
    names = gallery.names
    scan = _Scan(vectors, subjects, scale=scale, bar=bar)
    outliers = [
        Outlier(ids[i], names[int(subjects[i])], float(median)) for i, median in scan.outliers()
    ]
    confusable = [
        Pair((ids[i], ids[j]), (names[int(subjects[i])], names[int(subjects[j])]), value)
        for i, j, value in scan.confusable
    ]
    duplicates = [
        Pair((ids[i], ids[j]), (names[int(subjects[i])], names[int(subjects[j])]), value)
        for i, j, value in scan.duplicates
    ]
    return Report(
        examples=len(active),
        subjects=len(set(subjects.tolist())),
        set_aside=[
            (gallery.ids[i], names[int(gallery.subjects[i])]) for i in np.flatnonzero(gallery.aside)
        ],
        outliers=sorted(outliers, key=lambda o: o.similarity)[:LISTED],
        confusable=sorted(confusable, key=lambda p: -p.similarity)[:LISTED],
        duplicates=sorted(duplicates, key=lambda p: -p.similarity)[:LISTED],
        strangers=_strangers(strangers, vectors, subjects, ids, names, scale)[:LISTED],
        threshold=scan.threshold(bar),
        notes=scan.notes(),
    )


class _Scan:
    """One pass over every pair of examples, a block of rows at a time, on dot products (one
    matrix product a block; similarities are worked out only for the pairs a finding lists):
    each row's similarities to its own subject's others, the closest pair of each two subjects
    over the bar, the near-duplicates, the cross-subject pairs the bar accepts, a histogram of
    the same-subject products, and one of the highest cross-subject products: the share of them
    the highest suggested rate (1e-2) needs, kept while the scan runs (`_Tail`)."""

    # Histogram bins over products in [-1, 1]: near the bar a bin is about 2e-4 in similarity
    # on dlib's steep scale, less on ArcFace's.
    BINS = 200_000

    def __init__(
        self,
        vectors: npt.NDArray[np.float32],
        subjects: npt.NDArray[np.int64],
        *,
        scale: Scale,
        bar: float,
    ) -> None:
        self.scale, self.bar = scale, bar
        self.own: list[npt.NDArray[np.float32]] = []
        closest: dict[tuple[int, int], tuple[int, int, float]] = {}
        self.duplicates: list[tuple[int, int, float]] = []
        # |a - b|^2 = 2 - 2 a.b: the product over which two unit rows are within that distance.
        duplicate = 1 - (DUPLICATE * scale.c0) ** 2 / 2
        # Pairs whose product is within a bin of the bar's are compared on similarity itself.
        bar_product = self.product_of(bar)
        near_bar = bar_product - 2 / self.BINS
        # Each subject's rows, grouped in one sort.
        order = np.argsort(subjects, kind="stable")
        starts = np.flatnonzero(np.diff(subjects[order], prepend=-1))
        groups = np.split(order, starts[1:]) if len(order) else []
        members = {
            int(subjects[order[first]]): rows for first, rows in zip(starts, groups, strict=True)
        }
        same_pairs = sum(len(rows) * (len(rows) - 1) // 2 for rows in groups)
        self.pairs = len(vectors) * (len(vectors) - 1) // 2 - same_pairs
        tail = _Tail(vectors, subjects, self.pairs, ceiling=min(near_bar, duplicate))
        same: list[npt.NDArray[np.float32]] = []
        over_bar = 0  # ordered pairs (i, j), i == j included, at or over the bar's product
        for start, block in _blocks(vectors):
            products = block @ vectors.T
            over_bar += int(np.count_nonzero(products >= bar_product))
            for r, row in enumerate(range(start, start + len(block))):
                mine = members[int(subjects[row])]
                self.own.append(scale.from_dots(products[r, mine[mine != row]]))
                same.append(products[r, mine[mine > row]])
            # Each pair once (j > i), of the few at or over the tail's floor.
            found, j = np.nonzero(products >= tail.floor)
            rows = found + start
            keep = j > rows
            found, j, rows = found[keep], j[keep], rows[keep]
            values = products[found, j]
            cross = subjects[rows] != subjects[j]
            tail.add(values[cross])
            twice = values >= duplicate
            for i, k, value in zip(rows[twice], j[twice], values[twice], strict=True):
                self.duplicates.append((int(i), int(k), float(scale.from_dots(value))))
            close = cross & (values >= near_bar)
            for i, k, value in zip(rows[close], j[close], values[close], strict=True):
                similarity = float(scale.from_dots(value))
                key = (min(subjects[i], subjects[k]), max(subjects[i], subjects[k]))
                if similarity >= bar and (key not in closest or similarity > closest[key][2]):
                    closest[key] = (int(i), int(k), similarity)
        self.confusable = list(closest.values())
        same_products = np.concatenate(same) if same else np.zeros(0, dtype=np.float32)
        self.same = self._histogram(same_products)
        self.cross = self._histogram(tail.values())
        # Bins from here up hold every cross pair there is (the bin of the floor, partly).
        self.tail_bin = min(self._bin(tail.floor) + 1, self.BINS)
        # Ordered pairs counted each pair twice and each row with itself once.
        same_over = int(np.count_nonzero(same_products >= bar_product))
        self.accepted_at_bar = (over_bar - len(vectors)) // 2 - same_over

    def product_of(self, similarity: float) -> float:
        """The dot product of unit rows that scores `similarity` (clipped into the scale)."""
        clipped = min(max(similarity, 1e-6), 1 - 1e-6)
        distance = max(self.scale.c0 - math.atanh(2 * clipped - 1) / self.scale.c1, 0.0)
        return 1 - distance**2 / 2

    def _bin(self, product: float) -> int:
        return min(max(math.floor((product + 1) * self.BINS / 2), 0), self.BINS)

    def _histogram(self, products: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
        bins = np.clip(((products + 1) * (self.BINS / 2)).astype(np.int64), 0, self.BINS)
        return np.bincount(bins, minlength=self.BINS + 1)

    def outliers(self) -> Iterator[tuple[int, float]]:
        """Rows that the model calls another person than most of their subject's other
        examples (under the bar against more than half of them), with the median similarity
        to those. Of a subject's two examples that disagree, both are listed: nothing tells
        which one is wrong."""
        for i, values in enumerate(self.own):
            if 2 * np.count_nonzero(values < self.bar) > len(values):
                yield i, float(np.median(values))

    def threshold(self, current: float) -> Threshold:
        pairs, same_pairs = self.pairs, int(self.same.sum())
        # accepted[b]: cross pairs in bin b or over, i.e. accepted at bin b's lower edge (known
        # from the tail's bin up: below it, every pair under the tail is accepted too).
        accepted = np.cumsum(self.cross[::-1])[::-1]
        by_rate = {}
        for rate in RATES:
            within = np.flatnonzero(accepted <= rate * pairs)
            if pairs and pairs * rate >= 1 and len(within):
                # The lowest bin where at most `rate` of the pairs are accepted, the tail's at
                # the lowest: a threshold under it accepts pairs that were only counted.
                edge = max(int(within[0]), self.tail_bin) * 2 / self.BINS - 1
                # Rounded up to the 5 places answers show: it accepts no more than it says.
                # Where the scale is flat at 0 (pairs far beyond its range) it cannot tell.
                similarity = math.ceil(float(self.scale.from_dots(edge)) * 1e5) / 1e5
                if similarity > 0:
                    by_rate[rate] = similarity
        current_rate = self.accepted_at_bar / pairs if pairs else None
        aimed = [rate for rate in RATES if rate >= TARGET_RATE and rate in by_rate]
        suggested_rate = aimed[0] if aimed else None
        suggested = by_rate[suggested_rate] if suggested_rate is not None else None
        refused = None
        if suggested is not None and same_pairs:
            below = int(self.same[: self._bin(self.product_of(suggested))].sum())
            refused = below / same_pairs
        return Threshold(
            current=current,
            current_false_accept_rate=current_rate,
            pairs=pairs,
            same_pairs=same_pairs,
            by_rate=by_rate,
            suggested=suggested,
            suggested_rate=suggested_rate,
            suggested_false_reject_rate=refused,
        )

    def notes(self) -> list[str]:
        found = []
        pairs = self.pairs
        if pairs < 1 / TARGET_RATE:
            found.append(
                f"{pairs} pairs of different subjects' examples: a threshold for a false-accept "
                f"rate of {TARGET_RATE:g} needs {round(1 / TARGET_RATE)} at least; the model's "
                "published table (docs/models.md) is the better guide here"
            )
        elif self.accepted_at_bar > ALIKE * TARGET_RATE * pairs:
            share = self.accepted_at_bar / pairs
            found.append(
                f"At the threshold in force ({self.bar:g}) {self.accepted_at_bar} of the "
                f"{pairs} pairs of different subjects' examples ({share:.2%}) score as one "
                f"person, over {ALIKE} times {TARGET_RATE:g}: the model finds "
                "these subjects more alike than the people it was calibrated on (children, old "
                "scanned or greyscale photos do that), or one person is enrolled under two "
                "names (see the confusable subjects); the suggested threshold holds "
                f"{TARGET_RATE:g} on this service's own examples"
            )
        return found


@dataclass(frozen=True)
class Refused:
    """An example whose kept photo the quality gate would refuse today, and why."""

    image_id: str
    subject: str
    reasons: list[str]


def refused_by_gate(
    s: Session, *, gallery: Gallery, inference: Inference, limits: QualityLimits
) -> list[Refused]:
    """The examples searched (not set aside) whose kept photo's largest face falls outside
    `limits`; examples without a kept photo cannot be judged and are left out."""
    found = []
    query = FaceQuery(limit=1, plugins=[face_plugins.QUALITY])
    for i in np.flatnonzero(~gallery.aside):
        data = reads.stored_image(s, example_id=gallery.ids[i])
        if data is None:
            continue
        subject = gallery.names[int(gallery.subjects[i])]
        try:
            [face] = inference.faces(Image(data, None), query, embed=False).faces
        except NoFaceFound:
            found.append(Refused(gallery.ids[i], subject, ["no face found in the kept photo"]))
            continue
        assert face.quality is not None  # asked for by the query
        reasons = quality_gate.refusals(face.quality, limits)
        if reasons:
            found.append(Refused(gallery.ids[i], subject, reasons))
    return found


class _Tail:
    """The highest cross-subject products seen so far: at least the `SHARE` of all pairs that
    the highest suggested rate needs, each at or over `floor`, which rises as they come so that
    a block adds a few values, not all of its pairs, up to `ceiling` at most: the scan reads
    the confusable pairs and duplicates from the pairs at or over the floor."""

    SHARE = max(RATES)
    # Pairs sampled to set the first floor: the highest 2 % of them, well below the 1 % sought.
    SAMPLE = 100_000

    def __init__(
        self,
        vectors: npt.NDArray[np.float32],
        subjects: npt.NDArray[np.int64],
        pairs: int,
        *,
        ceiling: float,
    ) -> None:
        self.kept = math.ceil(self.SHARE * pairs) + 1
        self.parts: list[npt.NDArray[np.float32]] = []
        self.size = 0
        self.floor = -1.0
        rng = np.random.default_rng(0)
        first, second = rng.integers(len(vectors), size=(2, min(self.SAMPLE, pairs)))
        other = subjects[first] != subjects[second]
        if other.any():
            sampled = np.sum(vectors[first[other]] * vectors[second[other]], axis=1)
            self.floor = float(np.quantile(sampled, 1 - 2 * self.SHARE))
        self.ceiling = ceiling
        self.floor = min(self.floor, ceiling)

    def add(self, values: npt.NDArray[np.float32]) -> None:
        self.parts.append(values)
        self.size += len(values)
        if self.size > 4 * self.kept:
            everything = self.values()
            kth = float(np.partition(everything, len(everything) - self.kept)[-self.kept])
            # Ties at the k-th value stay, so every pair at or over the floor is kept.
            self.floor = min(max(self.floor, kth), self.ceiling)
            self.parts = [everything[everything >= self.floor]]
            self.size = len(self.parts[0])

    def values(self) -> npt.NDArray[np.float32]:
        return np.concatenate(self.parts) if self.parts else np.zeros(0, dtype=np.float32)


def _blocks(vectors: npt.NDArray[np.float32]) -> Iterator[tuple[int, npt.NDArray[np.float32]]]:
    for start in range(0, len(vectors), CHUNK):
        yield start, vectors[start : start + CHUNK]


def _strangers(
    strangers: Strangers,
    vectors: npt.NDArray[np.float32],
    subjects: npt.NDArray[np.int64],
    ids: list[str],
    names: dict[int, str],
    scale: Scale,
) -> list[Stranger]:
    """Each kept unknown face's closest example, the closest first: a stranger who scores high
    is a lookalike, or a subject's face that their examples miss."""
    if not strangers.ids or not len(vectors) or strangers.vectors.shape[1] != vectors.shape[1]:
        return []
    found = []
    for start, block in _blocks(strangers.vectors):
        products = block @ vectors.T
        best = np.argmax(products, axis=1)
        values = scale.from_dots(products[np.arange(len(block)), best])
        for offset, (row, value) in enumerate(zip(best, values, strict=True)):
            subject = names[int(subjects[row])]
            found.append(Stranger(strangers.ids[start + offset], ids[row], subject, float(value)))
    return sorted(found, key=lambda f: -f.similarity)
