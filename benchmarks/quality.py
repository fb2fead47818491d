"""The `quality` plugin's measures against recognition: how far a probe's similarity to the
person's other photos drops as it is downscaled, blurred and darkened, on shared/faces and
shared/lfw-dev (people with 2 photos or more). Prints one table per measure, the source of the
enrolment gate's default limits (docs/quality.md).

Usage: python benchmarks/quality.py [--model dlib|insightface-s]
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageFilter

from facegate.collection import quality_gate
from facegate.collection.quality_gate import QualityLimits
from facegate.config import Settings
from facegate.engine import plugins
from facegate.engine.face_engine import FaceEngine
from facegate.engine.faces import Face, FaceRequest, Quality
from facegate.engine.options import EngineOptions
from facegate.engine.similarity import normalize
from run import FACES, REPO

LFW = REPO.parent / "shared" / "lfw-dev"
REQUEST = FaceRequest(plugins=frozenset({plugins.CALCULATOR, plugins.QUALITY}))
# Degradations, each a name and a function of the photo and its face's eye distance.
Degrade = Callable[[Image.Image, float], Image.Image]
DOWNSCALE = (1.5, 2, 3, 4, 6)
BLUR = (0.02, 0.04, 0.06, 0.09, 0.13)  # Gaussian sigma, in eye distances
DARKEN = (0.6, 0.4, 0.25, 0.15, 0.08)  # pixel values multiplied by this
BRIGHTEN = (1.5, 2.2, 3.0)
# A probe counts as recognised while its similarity to its own person stays at or above this:
# the middle of the fitted similarity scale (docs/models.md, "Similarity").
RECOGNISED = 0.5
# A limit sits where the median similarity of degraded probes first falls this far below the
# undegraded probes' median.
DROP = 0.03


@dataclass
class Probe:
    person: str
    image: Image.Image


def _degradations() -> Iterator[tuple[str, str, Degrade]]:
    for factor in DOWNSCALE:
        yield "eye_distance", f"downscale {factor}", _downscale(factor)
    for sigma in BLUR:
        yield "sharpness", f"blur {sigma}", _blur(sigma)
    for scale in (*DARKEN, *BRIGHTEN):
        yield "brightness", f"exposure x{scale}", _expose(scale)


def _downscale(factor: float) -> Degrade:
    def apply(image: Image.Image, _eyes: float) -> Image.Image:
        size = (max(1, round(image.width / factor)), max(1, round(image.height / factor)))
        return image.resize(size, Image.Resampling.LANCZOS)

    return apply


def _blur(sigma: float) -> Degrade:
    return lambda image, eyes: image.filter(ImageFilter.GaussianBlur(sigma * eyes))


def _expose(scale: float) -> Degrade:
    return lambda image, _eyes: image.point(lambda v: min(255, round(v * scale)))


def _jpeg(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=92)
    return buffer.getvalue()


def _probes() -> list[Probe]:
    """Single-face photos of people with at least two of them."""
    found: list[Probe] = []
    manifest = json.loads((FACES / "manifest.json").read_text())
    for entry in manifest["images"]:
        if entry["faces"] == 1:
            image = Image.open(FACES / entry["file"]).convert("RGB")
            found.append(Probe(entry["people"][0], image))
    with (LFW / "labels.csv").open() as labels:
        for row in csv.DictReader(labels):
            found.append(Probe(row["identity"], Image.open(LFW / row["file"]).convert("RGB")))
    counts: dict[str, int] = defaultdict(int)
    for probe in found:
        counts[probe.person] += 1
    return [probe for probe in found if counts[probe.person] >= 2]


def _largest(engine: FaceEngine, image: Image.Image) -> Face | None:
    faces = engine.analyze(_jpeg(image), REQUEST).faces
    return faces[0] if faces else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="dlib")
    args = parser.parse_args()
    engine = FaceEngine.create(EngineOptions.from_settings(Settings(model=args.model)))
    probes = _probes()
    originals = [_largest(engine, probe.image) for probe in probes]
    vectors = {
        i: normalize(face.embedding[None])[0]
        for i, face in enumerate(originals)
        if face is not None and face.embedding is not None
    }
    # measure name -> (measure value, similarity, degradation label) of every degraded probe
    rows: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    baseline: list[float] = []
    qualities: list[Quality] = []  # of the undegraded probes, in baseline's order
    for i, probe in enumerate(probes):
        face = originals[i]
        others = [j for j, other in enumerate(probes) if other.person == probe.person and j != i]
        others = [j for j in others if j in vectors]
        if face is None or face.quality is None or not others:
            continue
        reference = np.stack([vectors[j] for j in others])
        baseline.append(_best(engine, reference, vectors[i]))
        qualities.append(face.quality)
        for measure, label, degrade in _degradations():
            degraded = _largest(engine, degrade(probe.image, face.quality.eye_distance))
            if degraded is None or degraded.quality is None or degraded.embedding is None:
                rows[measure].append((float("nan"), 0.0, label))
                continue
            similarity = _best(engine, reference, normalize(degraded.embedding[None])[0])
            rows[measure].append((_value(degraded.quality, measure), similarity, label))
    recognised = sum(s >= RECOGNISED for s in baseline) / len(baseline)
    base = statistics.median(baseline)
    print(f"model set {args.model}: {len(baseline)} probes, {len(probes)} photos")
    print(
        f"undegraded: median similarity {base:.3f}, recognised (>= {RECOGNISED}) {recognised:.0%}"
    )
    for measure, found in rows.items():
        _table(measure, found, base, [_value(q, measure) for q in qualities])
    refused = [reasons for q in qualities if (reasons := quality_gate.refusals(q, QualityLimits()))]
    print(f"\nundegraded photos the default limits refuse: {len(refused)} of {len(qualities)}")
    for reasons in refused:
        print(f"  {'; '.join(reasons)}")
    for measure in ("yaw", "pitch"):
        angles = [abs(_value(q, measure)) for q in qualities]
        rows_of = [
            (angle, similarity, "") for angle, similarity in zip(angles, baseline, strict=True)
        ]
        _table(f"|{measure}| undegraded", rows_of, base, [])


def _best(engine: FaceEngine, reference: np.ndarray, vector: np.ndarray) -> float:
    return float(max(engine.scale.similarities(vector, reference)))


def _value(quality: Quality, measure: str) -> float:
    value: float = getattr(quality, measure)
    return value


def _table(
    measure: str, found: list[tuple[float, float, str]], base: float, originals: list[float]
) -> None:
    """Probes binned by the measure: median similarity and share still recognised; with the
    undegraded photos' values, where the median first falls DROP below the undegraded one."""
    lost = sum(1 for value, _, _ in found if np.isnan(value))
    values = np.array([value for value, _, _ in found if not np.isnan(value)])
    similarities = np.array([s for value, s, _ in found if not np.isnan(value)])
    edges = np.unique(np.quantile(values, np.linspace(0, 1, 11)))
    print(f"\n{measure}: {len(values)} probes ({lost} with no face found)")
    print(f"| {measure} from | to | probes | median similarity | recognised |")
    print("|---|---|---|---|---|")
    medians = []
    for low, high in itertools.pairwise(edges):
        inside = (values >= low) & (values <= high)
        if inside.any():
            share = float((similarities[inside] >= RECOGNISED).mean())
            median = float(np.median(similarities[inside]))
            medians.append((float(low), float(high), median))
            print(f"| {low:.3g} | {high:.3g} | {int(inside.sum())} | {median:.3f} | {share:.0%} |")
    if not originals:
        return
    typical = float(np.median(originals))
    below = [high for low, high, median in medians if high <= typical and median < base - DROP]
    above = [low for low, high, median in medians if low >= typical and median < base - DROP]
    percentiles = np.percentile(originals, [1, 5, 50, 95, 99])
    print(
        "undegraded photos: 1/5/50/95/99th percentiles " + " ".join(f"{p:.3g}" for p in percentiles)
    )
    if below:
        print(f"similarity {DROP} below the undegraded median under {max(below):.3g}")
    if above:
        print(f"similarity {DROP} below the undegraded median over {min(above):.3g}")


if __name__ == "__main__":
    main()
