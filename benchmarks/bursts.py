"""One answer from several frames against one frame: bursts built from shared/lfw-dev photos
(each frame a degraded copy of one photo: downscaled, blurred, darkened), recognised by the
first frame alone, by the best frame alone (the heaviest by the vote's weight) and by the
burst's vote (collection/tracks.py, the maths POST /recognition/recognize/burst runs). Prints
one table per kind of burst (docs/bursts.md).

The gallery is the first photo of every lfw-dev person with two or more; their other photos
are the known probes, and as many people with one photo are the strangers, whose right answer
is "unknown". Never LFW's View 2.

Usage: python benchmarks/bursts.py [--model dlib|insightface-s] [--frames 5] [--seed 1]
                                  [--threshold 0.5]
"""

from __future__ import annotations

import argparse
import csv
import io
import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from facegate.collection import tracks
from facegate.config import Settings
from facegate.engine import plugins
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import FaceRequest
from facegate.engine.options import EngineOptions
from facegate.engine.similarity import Scale, normalize, recognised
from run import REPO

LFW = REPO.parent / "shared" / "lfw-dev"
REQUEST = FaceRequest(plugins=frozenset({plugins.CALCULATOR, plugins.QUALITY}))
Degrade = Callable[[Image.Image], Image.Image]


def _downscale(factor: float) -> Degrade:
    return lambda image: image.resize(
        (round(image.width / factor), round(image.height / factor)), Image.Resampling.LANCZOS
    )


def _blur(sigma: float) -> Degrade:
    return lambda image: image.filter(ImageFilter.GaussianBlur(sigma))


def _darken(scale: float) -> Degrade:
    return lambda image: image.point(lambda v: round(v * scale))


def _both(first: Degrade, second: Degrade) -> Degrade:
    return lambda image: second(first(image))


# Poor frames: LFW's faces have about 42 px between the eyes, so these bring them under the
# enrolment gate's limits (docs/quality.md), where recognition starts to fail.
POOR: dict[str, Degrade] = {
    "downscale 4": _downscale(4),
    "downscale 6": _downscale(6),
    "blur 5": _blur(5),
    "blur 8": _blur(8),
    "dark x0.06": _darken(0.06),
    "downscale 3 + blur 2": _both(_downscale(3), _blur(2)),
    "downscale 3 + dark x0.15": _both(_downscale(3), _darken(0.15)),
}
# Fair frames: degraded, mostly still recognisable.
FAIR: dict[str, Degrade] = {
    "downscale 2": _downscale(2),
    "blur 2": _blur(2),
    "dark x0.3": _darken(0.3),
}
GOOD: dict[str, Degrade] = {"as taken": lambda image: image}


@dataclass(frozen=True)
class Probe:
    person: str | None  # None: a stranger, not in the gallery
    image: Image.Image


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _photos() -> dict[str, list[str]]:
    people: dict[str, list[str]] = defaultdict(list)
    with (LFW / "labels.csv").open() as rows:
        for row in csv.DictReader(rows):
            people[row["identity"]].append(row["file"])
    return people


class Recogniser:
    """The engine and the gallery: each frame's faces as the vote's sightings."""

    def __init__(self, engine: FaceEngine, gallery: dict[str, bytes]) -> None:
        self.engine = engine
        self.scale: Scale = engine.scale
        names, vectors = [], []
        for name, photo in gallery.items():
            faces = engine.analyze(photo, REQUEST).faces
            if faces and faces[0].embedding is not None:
                names.append(name)
                vectors.append(normalize(faces[0].embedding))
        self.names = names
        self.matrix = np.stack(vectors)
        self._cache: dict[tuple[int, str], list[tracks.Sighting]] = {}

    def sightings(
        self, probe: int, degrade: str, image: Image.Image, frame: int
    ) -> list[tracks.Sighting]:
        key = (probe, degrade)
        if key not in self._cache:
            self._cache[key] = self._analyse(image)
        return [
            tracks.Sighting(frame, s.box, s.vector, s.weight, s.subject, s.similarity)
            for s in self._cache[key]
        ]

    def _analyse(self, image: Image.Image) -> list[tracks.Sighting]:
        found = []
        for face in self.engine.analyze(_jpeg(image), REQUEST).faces[:1]:
            if face.embedding is None:
                continue
            vector = normalize(face.embedding)
            scores = self.scale.similarities(vector, self.matrix)
            best = int(np.argmax(scores))
            box = face.box
            corners = (float(box.x_min), float(box.y_min), float(box.x_max), float(box.y_max))
            weight = tracks.weight(face.quality, probability=box.probability, box=corners)
            found.append(
                tracks.Sighting(0, corners, vector, weight, self.names[best], float(scores[best]))
            )
        return found

    def similarity(self, a: tracks.Floats, b: tracks.Floats) -> float:
        return float(self.scale.similarities(a, b[np.newaxis])[0])


def _answer(sightings: list[tracks.Sighting], threshold: float | None) -> str | None:
    """One frame's answer: its face's best match when recognised; no face: unknown."""
    if not sightings:
        return None
    best = sightings[0]
    return best.subject if recognised(best.similarity, threshold=threshold) else None


def _burst_answer(
    recogniser: Recogniser, frames: list[list[tracks.Sighting]], threshold: float | None
) -> str | None:
    """The heaviest track's verdict (a burst of one person may still split into tracks)."""
    followed = tracks.track(frames, recogniser.similarity)
    if not followed:
        return None
    heaviest = max(followed, key=lambda t: sum(s.weight for s in t))
    return tracks.vote(heaviest, threshold=threshold).subject


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="dlib")
    parser.add_argument("--frames", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--threshold", type=float, default=None, help="the service's similarity threshold"
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    engine = FaceEngine.create(EngineOptions.from_settings(Settings(model=args.model)))
    people = _photos()
    known = {name: files for name, files in sorted(people.items()) if len(files) >= 2}
    singles = [files[0] for name, files in sorted(people.items()) if len(files) == 1]
    gallery = {name: (LFW / files[0]).read_bytes() for name, files in known.items()}
    recogniser = Recogniser(engine, gallery)
    probes = [
        Probe(name, Image.open(LFW / file).convert("RGB"))
        for name, files in known.items()
        for file in files[1:]
    ]
    strangers = rng.sample(singles, len(probes))
    probes += [Probe(None, Image.open(LFW / file).convert("RGB")) for file in strangers]

    kinds = {
        "one good frame among poor ones (never first)": lambda: _one_good(rng, args.frames),
        "every frame poor": lambda: [rng.choice(list(POOR)) for _ in range(args.frames)],
        "poor and fair frames, mixed": lambda: [
            rng.choice([*POOR, *FAIR]) for _ in range(args.frames)
        ],
        "fair frames": lambda: [rng.choice(list(FAIR)) for _ in range(args.frames)],
    }
    every = POOR | FAIR | GOOD
    print(
        f"model {args.model}, threshold {args.threshold or 0.5}, {args.frames} frames per "
        f"burst, {len(recogniser.names)} people "
        f"in the gallery; {len(probes) - len(strangers)} known and {len(strangers)} stranger "
        "bursts per kind; right = the person, or unknown for a stranger; each cell: all "
        "(known / strangers)\n"
    )
    print("| bursts | first frame | best frame | burst vote |")
    print("|---|---|---|---|")
    for kind, compose in kinds.items():
        right: dict[str, int] = defaultdict(int)
        for number, probe in enumerate(probes):
            names = compose()
            frames = [
                recogniser.sightings(number, name, every[name](probe.image), frame)
                for frame, name in enumerate(names)
            ]
            heaviest = max((f for f in frames if f), key=lambda f: f[0].weight, default=[])
            answers = {
                "first": _answer(frames[0], args.threshold),
                "best": _answer(heaviest, args.threshold),
                "burst": _burst_answer(recogniser, frames, args.threshold),
            }
            for way, answer in answers.items():
                if answer == probe.person:
                    right[way] += 1
                    right[f"{way} {'known' if probe.person else 'stranger'}"] += 1
        cells = [_cell(right, way, len(probes) - len(strangers), len(strangers)) for way in answers]
        print(f"| {kind} | {' | '.join(cells)} |")


def _cell(right: dict[str, int], way: str, known: int, strangers: int) -> str:
    """`all (known / strangers)` rightly answered, in per cent."""
    every = 100 * right[way] / (known + strangers)
    return (
        f"{every:.1f}% ({100 * right[f'{way} known'] / known:.0f}% / "
        f"{100 * right[f'{way} stranger'] / strangers:.0f}%)"
    )


def _one_good(rng: random.Random, frames: int) -> list[str]:
    names = [rng.choice(list(POOR)) for _ in range(frames)]
    names[rng.randrange(1, frames)] = "as taken"
    return names


if __name__ == "__main__":
    main()
