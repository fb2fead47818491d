"""Recognition across age gaps and of children, on FG-NET (docs/models.md "Age gaps and children").

FG-NET holds 1,002 photos of 82 people, most of them scanned family photos from early
childhood to adulthood, named `PPPAaa.JPG` (person PPP at age aa, a letter after the age when
one age has several photos). Nothing is fitted on it: every figure is taken at the model set's
published scale (0.5 = 1 in 1,000 different-person pairs of the calibration photos) and its
false-accept table.

Prints, per model set, markdown tables:
1. photos with no face, by age;
2. same-person pairs accepted at 0.5 by the younger photo's age and the age gap, and
   different-person pairs accepted at 0.5 and at the stricter published rates, by whether the
   photos show children;
3. galleries: each photo recognised among every person's enrolled examples (the server's
   `aggregate=subject`: a subject scores its best example), the person's own examples being
   only their first photo, only their latest earlier photo, or every earlier photo; and with
   the person left out, how often a stranger is accepted;
4. the gallery check's threshold suggestion (`collection.gallery_check`) worked out on half of
   the people, each enrolled with all their photos, and what it does on the other half's pairs;
5. unknown faces clustered as the server clusters them (`collection.clusters`, the set's
   thresholds, photos in file order): the adults' photos (18 and over, several per person, years
   apart) and the children's (under 13), scored against the people.

Usage: python benchmarks/age_gap.py --folder FGNET/images [--model dlib] [--model insightface-s]
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from facegate.collection import clusters, gallery_check
from facegate.config import Settings
from facegate.engine.calibration import central_embedding
from facegate.engine.face_engine import FaceEngine
from facegate.engine.options import EngineOptions
from facegate.engine.similarity import BALANCE, ClusterThresholds, FalseAccept, Scale

NAME = re.compile(r"(\d{3})a(\d{2})[a-z]?\.jpg", re.IGNORECASE)
CHILD = 13  # under 13: a child
ADULT = 18
AGES = ((0, 6), (7, 12), (13, 17), (18, 99))
GAPS = ((0, 4), (5, 9), (10, 19), (20, 99))

Mask = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Photos:
    """FG-NET's photos with a face: person, age, normalised embedding; and the ages missed."""

    persons: npt.NDArray[np.int64]
    ages: npt.NDArray[np.int64]
    vectors: npt.NDArray[np.float64]
    missed_ages: list[int]

    def similarities(self, scale: Scale) -> npt.NDArray[np.float64]:
        return scale.from_dots(self.vectors @ self.vectors.T).astype(np.float64)


def read(engine: FaceEngine, folder: Path) -> Photos:
    persons, ages, vectors, missed = [], [], [], []
    for file in sorted(folder.iterdir()):
        match = NAME.fullmatch(file.name)
        if match is None:
            continue
        vector = central_embedding(engine, file.read_bytes())
        if vector is None:
            missed.append(int(match[2]))
            continue
        persons.append(int(match[1]))
        ages.append(int(match[2]))
        vectors.append(vector)
    return Photos(np.array(persons), np.array(ages), np.stack(vectors).astype(np.float64), missed)


def band(value: int, bands: tuple[tuple[int, int], ...]) -> str:
    low, high = next((low, high) for low, high in bands if low <= value <= high)
    return f"{low}+" if high == 99 else f"{low}-{high}"


def percent(hits: int, total: int) -> str:
    return f"{hits / total:.1%} ({hits} of {total})" if total else "-"


def detection(photos: Photos) -> None:
    print("| age | photos | no face found |")
    print("|---|---|---|")
    for low, high in AGES:
        found = int(((photos.ages >= low) & (photos.ages <= high)).sum())
        missed = sum(low <= age <= high for age in photos.missed_ages)
        print(f"| {band(low, AGES)} | {found + missed} | {missed} |")


def pairs(
    photos: Photos, similarity: npt.NDArray[np.float64], published: tuple[FalseAccept, ...]
) -> None:
    upper = np.triu_indices(len(photos.ages), k=1)
    same = (photos.persons[:, None] == photos.persons[None, :])[upper]
    younger = np.minimum(photos.ages[:, None], photos.ages[None, :])[upper]
    older = np.maximum(photos.ages[:, None], photos.ages[None, :])[upper]
    scores = similarity[upper]
    print(f"\nsame-person pairs accepted at {BALANCE}, by the younger photo's age and the gap:")
    print("| younger photo | " + " | ".join(f"gap {band(g[0], GAPS)}" for g in GAPS) + " |")
    print("|---|" + "---|" * len(GAPS))
    for ages in AGES:
        cells = []
        for gaps in GAPS:
            inside = same & _within(younger, ages) & _within(older - younger, gaps)
            cells.append(percent(int((scores[inside] >= BALANCE).sum()), int(inside.sum())))
        print(f"| {band(ages[0], AGES)} | " + " | ".join(cells) + " |")
    rates = [row for row in published if row.similarity is not None]
    print("\ndifferent-person pairs accepted, at the similarity each published rate names:")
    print("| photos | pairs | " + " | ".join(f"{r.rate:g} ({r.similarity:.3f})" for r in rates))
    print("|---|---|" + "---|" * len(rates))
    kinds: dict[str, Mask] = {
        "both children (under 13)": older < CHILD,
        "one child, one 13 or over": (younger < CHILD) & (older >= CHILD),
        "both 13 or over": younger >= CHILD,
    }
    for label, kind in kinds.items():
        inside = ~same & kind
        total = int(inside.sum())
        cells = [f"{(scores[inside] >= r.similarity).mean():.2%}" for r in rates]
        print(f"| {label} | {total:,} | " + " | ".join(cells) + " |")


def _within(values: npt.NDArray[np.int64], limits: tuple[int, int]) -> Mask:
    return (values >= limits[0]) & (values <= limits[1])


# For a probe (index) the photos of its own person that are enrolled.
Enrolment = Callable[[Photos, int], Mask]


def first_photo(photos: Photos, probe: int) -> Mask:
    return _one_earlier(photos, probe, youngest=True)


def latest_earlier(photos: Photos, probe: int) -> Mask:
    return _one_earlier(photos, probe, youngest=False)


def _one_earlier(photos: Photos, probe: int, *, youngest: bool) -> Mask:
    own = _own_earlier(photos, probe)
    if not own.any():
        return own
    ages = photos.ages[own]
    chosen = np.flatnonzero(own)[np.argmin(ages) if youngest else np.argmax(ages)]
    return np.arange(len(own)) == chosen


def every_earlier(photos: Photos, probe: int) -> Mask:
    return _own_earlier(photos, probe)


def _own_earlier(photos: Photos, probe: int) -> Mask:
    """The person's photos taken at least a year before the probe."""
    return (photos.persons == photos.persons[probe]) & (photos.ages < photos.ages[probe])


ENROLMENTS: dict[str, Enrolment] = {
    "first photo only": first_photo,
    "latest earlier photo only": latest_earlier,
    "every earlier photo": every_earlier,
}


def galleries(photos: Photos, similarity: npt.NDArray[np.float64]) -> None:
    """Each photo taken after its person's first is a probe; every other person is enrolled
    with all their photos, so a wrong answer is a stranger beating the person or, with the
    person's examples left out, a stranger accepted."""
    probes = [i for i in range(len(photos.ages)) if _own_earlier(photos, i).any()]
    print(
        f"\ngalleries: {len(probes)} photos taken after their person's first, among all 82 "
        f"people (aggregate=subject, {BALANCE}): recognised / another person named"
    )
    print("| probe's age | probes | " + " | ".join(ENROLMENTS) + " | person not enrolled |")
    print("|---|---|" + "---|" * (len(ENROLMENTS) + 1))
    for ages in AGES:
        chosen = [i for i in probes if _within(photos.ages[i : i + 1], ages)[0]]
        cells = [_recognise(photos, similarity, chosen, enrol) for enrol in ENROLMENTS.values()]
        strangers = sum(_answer(photos, similarity, i, None)[1] for i in chosen)
        cells.append(f"{percent(strangers, len(chosen))} accepted")
        print(f"| {band(ages[0], AGES)} | {len(chosen)} | " + " | ".join(cells) + " |")


def _recognise(
    photos: Photos, similarity: npt.NDArray[np.float64], probes: list[int], enrol: Enrolment
) -> str:
    answers = [_answer(photos, similarity, i, enrol(photos, i)) for i in probes]
    right = sum(correct for correct, _ in answers)
    wrong = sum(wrong for _, wrong in answers)
    total = len(probes)
    return f"{right / total:.1%} / {wrong / total:.1%}" if total else "-"


def _answer(
    photos: Photos, similarity: npt.NDArray[np.float64], probe: int, own: Mask | None
) -> tuple[bool, bool]:
    """(the person is named, another person is named) at BALANCE."""
    person = photos.persons[probe]
    strangers = photos.persons != person
    best_stranger = float(similarity[probe, strangers].max())
    best_own = float(similarity[probe, own].max()) if own is not None and own.any() else -1.0
    if max(best_own, best_stranger) < BALANCE:
        return False, False
    return best_own >= best_stranger, best_stranger > best_own


def suggestion(photos: Photos, similarity: npt.NDArray[np.float64], scale: Scale) -> None:
    """People split by the parity of their number: the check runs on one half as a service's
    gallery, its suggested threshold is scored on the other half's pairs, and the other way."""
    print(
        f"\nthe gallery check's suggestion on half the people, scored on the other half: "
        f"different-person pairs accepted / same-person pairs accepted, at {BALANCE} and at "
        "the suggestion"
    )
    print("| gallery | suggested (its rate) | pairs | at 0.5 | at the suggestion |")
    print("|---|---|---|---|---|")
    for half in (0, 1):
        enrolled = photos.persons % 2 == half
        rows = np.flatnonzero(enrolled)
        report = gallery_check.check(
            gallery_check.Gallery(
                ids=[str(i) for i in rows],
                subjects=photos.persons[rows],
                names={int(p): f"{p:03d}" for p in set(photos.persons[rows].tolist())},
                vectors=photos.vectors[rows].astype(np.float32),
                aside=np.zeros(len(rows), dtype=bool),
            ),
            gallery_check.Strangers(ids=[], vectors=np.zeros((0, photos.vectors.shape[1]))),
            scale=scale,
            threshold=None,
        )
        suggested = report.threshold.suggested
        others = np.flatnonzero(~enrolled)
        upper = np.triu_indices(len(others), k=1)
        scores = similarity[np.ix_(others, others)][upper]
        same = (photos.persons[others][:, None] == photos.persons[others][None, :])[upper]
        cells = []
        for bar in (BALANCE, suggested):
            if bar is None:
                cells.append("-")
                continue
            cells.append(
                f"{(scores[~same] >= bar).mean():.2%} / {(scores[same] >= bar).mean():.1%}"
            )
        print(
            f"| {'even' if half == 0 else 'odd'}-numbered people ({len(rows)} photos) | "
            f"{suggested} ({report.threshold.suggested_rate}) | {len(scores):,} | "
            + " | ".join(cells)
            + " |"
        )


def clustering(photos: Photos, scale: Scale, thresholds: ClusterThresholds) -> None:
    print("\nunknown faces clustered as the server clusters them, against the people:")
    print("| photos | people | photos | clusters | ARI | purity | completeness |")
    print("|---|---|---|---|---|---|---|")
    for label, chosen in (
        ("18 and over", photos.ages >= ADULT),
        ("under 13", photos.ages < CHILD),
    ):
        truth = photos.persons[chosen]
        found = clusters.cluster(photos.vectors[chosen].astype(np.float32), scale, thresholds)
        purity, completeness = clusters.pair_precision_recall(truth, found)
        print(
            f"| {label} | {len(set(truth.tolist()))} | {len(truth)} | {len(set(found.tolist()))} "
            f"| {clusters.adjusted_rand_index(truth, found):.3f} | {purity:.3f} "
            f"| {completeness:.3f} |"
        )


def engines(models: list[str]) -> Iterator[tuple[str, FaceEngine]]:
    for model in models:
        yield model, FaceEngine.create(EngineOptions.from_settings(Settings(model=model)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folder", type=Path, required=True, help="FG-NET's images folder")
    parser.add_argument("--model", action="append", dest="models")
    args = parser.parse_args()
    for model, engine in engines(args.models or ["dlib", "insightface-s"]):
        photos = read(engine, args.folder)
        similarity = photos.similarities(engine.scale)
        print(f"\n## {model}: {len(photos.ages)} photos with a face\n")
        detection(photos)
        pairs(photos, similarity, engine.false_accepts)
        galleries(photos, similarity)
        suggestion(photos, similarity, engine.scale)
        clustering(photos, engine.scale, engine.cluster_thresholds)


if __name__ == "__main__":
    main()
