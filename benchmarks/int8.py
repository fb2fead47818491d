"""int8 quantisation: which models keep their answers and run faster on this CPU. Prints tables.

Each model of both sets that ONNX Runtime runs in float32 (dlib's ResNet as converted by
facegate, insightface-s's MobileFaceNet and SCRFD) is quantised statically by
`onnxruntime.quantization` in several schemes, calibrated on the aligned chips (detector: the
prepared photos) of shared/faces, and measured against its float32 file in the same process,
with facegate's session options and threads, variants interleaved round by round:

- recognisers: ms per face at batch 1 and 8, cosine to float32 over the chips of shared/faces
  (min, median) and over the central face of each lfw-dev photo (min), and lfw-dev's pairs
  (pairs.csv) judged at similarity 0.5 on the set's scale: same-person pairs refused,
  different-person pairs accepted (float32's counts in its own row);
- the detector: faces found per photo against manifest.json, IoU of each float32 box with the
  best int8 box (min, median), ms per photo (detection with decoding and NMS).

`--write-ranges` also records the dlib network's activation ranges (the calibration behind
FACEGATE_PRECISION=int8) into src/facegate/engine/convert/dlib/, by `runtime.calibrate_int8`.
Usage: python benchmarks/int8.py [--rounds 5] [--data-dir DIR] [--write-ranges]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import version_converter
from onnxruntime import quantization as q

from facegate.config import Settings
from facegate.engine import images, model_sets, runtime
from facegate.engine.convert.dlib.model_file import RANGES, ModelFile
from facegate.engine.dlib.embedder import source_path
from facegate.engine.dlib.onnx_embedder import OnnxEmbedder
from facegate.engine.insightface.arcface import ArcFaceRecognizer
from facegate.engine.insightface.model_pack import Role
from facegate.engine.insightface.scrfd import ScrfdDetector
from facegate.engine.options import EngineOptions
from facegate.engine.similarity import BALANCE, normalize
from facegate.engine.types import Floats, Photo, Pixels
from run import FACES, load_photos  # benchmarks/run.py

LFW = FACES.parent / "lfw-dev"
U8 = {"activation_type": q.QuantType.QUInt8, "weight_type": q.QuantType.QInt8}
S8 = {"activation_type": q.QuantType.QInt8, "weight_type": q.QuantType.QInt8}
QDQ = {"quant_format": q.QuantFormat.QDQ, "per_channel": True}
# Scheme name -> quantize_static's arguments; `exclude` names node groups left in float32.
SCHEMES: dict[str, dict[str, Any]] = {
    "U8S8 min-max": {**QDQ, **U8},
    "U8S8 percentile 99.99": {
        **QDQ,
        **U8,
        "calibrate_method": q.CalibrationMethod.Percentile,
        "extra_options": {"CalibPercentile": 99.99},
    },
    "U8S8 entropy": {**QDQ, **U8, "calibrate_method": q.CalibrationMethod.Entropy},
    "U8S8 min-max, first conv and last layers float": {**QDQ, **U8, "exclude": ("ends",)},
    "U8S8 min-max, first conv, last layers and depthwise float": {
        **QDQ,
        **U8,
        "exclude": ("ends", "depthwise"),
    },
    "U8S8 min-max, per-tensor weights": {**QDQ, **U8, "per_channel": False},
    # 7-bit weights: without VNNI the u8 x s8 product sums pairs in 16 bits, which 8-bit
    # weights can overflow (ONNX Runtime's quantisation guide, "reduce_range").
    "U8S8 min-max, 7-bit weights": {**QDQ, **U8, "reduce_range": True},
    "U8S8 min-max, QOperator format": {**QDQ, **U8, "quant_format": q.QuantFormat.QOperator},
    "S8S8 min-max": {**QDQ, **S8},
    "S8S8 min-max, symmetric activations": {
        **QDQ,
        **S8,
        "extra_options": {"ActivationSymmetric": True},
    },
}
DETECTOR_SCHEMES = (
    "U8S8 min-max",
    "U8S8 min-max, first conv and last layers float",
    "S8S8 min-max",
)
Embed = Callable[[Pixels], Floats]


def opset13(model: bytes) -> onnx.ModelProto:
    """Per-channel QuantizeLinear needs opset 13; InsightFace's files are opset 11."""
    proto = onnx.load_from_string(model)
    if max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) < 13:
        proto = version_converter.convert_version(proto, 13)
    return proto


def excluded(proto: onnx.ModelProto, groups: tuple[str, ...]) -> list[str]:
    """Nodes kept in float32: `ends` the first conv and everything after the last conv that
    feeds the output (embedding layers; the detector's heads), `depthwise` grouped convs."""
    convs = [n for n in proto.graph.node if n.op_type == "Conv"]
    names = []
    if "ends" in groups:
        consumers = {i: n.op_type for n in proto.graph.node for i in n.input}
        heads = [n.name for n in convs if consumers.get(n.output[0]) not in ("Relu", "PRelu")]
        tail = [n.name for n in proto.graph.node if n.op_type in ("Gemm", "MatMul")]
        names += [convs[0].name, *heads, *tail]
    if "depthwise" in groups:
        names += [n.name for n in convs if any(a.name == "group" and a.i > 1 for a in n.attribute)]
    return names


def quantize(model: bytes, scheme: str, feeds: list[dict[str, Any]]) -> bytes:
    arguments = dict(SCHEMES[scheme])
    proto = opset13(model)
    arguments["nodes_to_exclude"] = excluded(proto, arguments.pop("exclude", ()))

    class Feeds(q.CalibrationDataReader):
        def __init__(self) -> None:
            self._feeds = iter(feeds)

        def get_next(self) -> dict[str, Any] | None:
            return next(self._feeds, None)

    with tempfile.TemporaryDirectory() as folder:
        output = Path(folder) / "int8.onnx"
        q.quantize_static(proto, output, Feeds(), **arguments)
        return output.read_bytes()


@dataclass
class Recogniser:
    name: str
    models: model_sets.ModelSet
    float32: bytes
    wrap: Callable[[runtime.Network], Embed]
    feed: Callable[[Pixels], dict[str, Any]]  # one chip -> the network's input
    schemes: tuple[str, ...]


def recognisers(data_dir: Path) -> Iterator[Recogniser]:
    for name in (model_sets.DLIB, model_sets.INSIGHTFACE_S):
        options = EngineOptions.from_settings(Settings(model=name, data_dir=data_dir))
        models = model_sets.load(options)
        if name == model_sets.DLIB:
            yield Recogniser(
                name,
                models,
                ModelFile.in_data_dir(data_dir).load(source_path()),
                lambda session: OnnxEmbedder(session).embed,
                lambda chip: {"chips": chip[None]},
                tuple(s for s in SCHEMES if "depthwise" not in s),
            )
            continue
        detector = models.detector

        def wrap(session: runtime.Network, d: Any = detector) -> Embed:
            return ArcFaceRecognizer(session, calculator_id="", detector=d).embed

        def feed(chip: Pixels) -> dict[str, Any]:
            return {
                "input.1": (chip[None].astype(np.float32).transpose(0, 3, 1, 2) - 127.5) / 127.5
            }

        pack = model_sets.model_pack.read(model_sets._carrier_folder(), model_sets.BUFFALO_S_FILES)
        yield Recogniser(
            name, models, pack[Role.RECOGNIZER].path.read_bytes(), wrap, feed, tuple(SCHEMES)
        )


def face_chips(models: model_sets.ModelSet, pixels: Pixels, *, central: bool) -> Pixels:
    """Every face's chip, or only the face nearest the centre (the labelled one of lfw-dev)."""
    found = models.detector.detect(pixels, threshold=models.det_prob_threshold)
    if central and len(found):
        centres = (found.boxes[:, :2] + found.boxes[:, 2:4]) / 2
        offsets = np.hypot(*(centres - np.array(pixels.shape[1::-1]) / 2).T)
        found = found.take(np.array([int(np.argmin(offsets))]))
    return models.recognizer.chips(Photo(pixels, found, models.aligner))


def lfw_pairs() -> tuple[list[str], list[tuple[int, int, bool]]]:
    with (LFW / "labels.csv").open(newline="") as labels:
        files = [row["file"] for row in csv.DictReader(labels)]
    index = {file: i for i, file in enumerate(files)}
    with (LFW / "pairs.csv").open(newline="") as pairs:
        rows = [
            (index[r["file_a"]], index[r["file_b"]], r["same"] == "1")
            for r in csv.DictReader(pairs)
        ]
    return files, rows


def embed_all(embed: Embed, chips: Pixels) -> Floats:
    return normalize(np.concatenate([embed(chips[i : i + 8]) for i in range(0, len(chips), 8)]))


def pair_errors(
    models: model_sets.ModelSet, vectors: Floats, pairs: list[tuple[int, int, bool]]
) -> tuple[int, int]:
    """(same-person pairs under 0.5, different-person pairs at or over it)."""
    a, b, same = (np.array(column) for column in zip(*pairs, strict=True))
    similarity = models.scale.from_distance(np.linalg.norm(vectors[a] - vectors[b], axis=1))
    return int((similarity[same] < BALANCE).sum()), int((similarity[~same] >= BALANCE).sum())


def timed_ms(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return (time.perf_counter() - start) * 1e3


def recogniser_table(recogniser: Recogniser, data_dir: Path, rounds: int) -> str:
    models = recogniser.models
    options = EngineOptions.from_settings(Settings(model=recogniser.name, data_dir=data_dir))
    decode = lambda data: images.decode(data, max_image_pixels=options.max_image_pixels).pixels  # noqa: E731
    chips = np.concatenate(
        [face_chips(models, decode(data), central=False) for _, data, _ in load_photos(FACES)]
    )
    files, pairs = lfw_pairs()
    lfw = np.concatenate(
        [face_chips(models, decode((LFW / f).read_bytes()), central=True) for f in files]
    )
    feeds = [recogniser.feed(chip) for chip in chips]
    variants: dict[str, tuple[Embed, float]] = {
        "float32": (recogniser.wrap(runtime.create_session(recogniser.float32, options=options)), 0)
    }
    for scheme in recogniser.schemes:
        start = time.perf_counter()
        model = quantize(recogniser.float32, scheme, feeds)
        seconds = time.perf_counter() - start
        variants[scheme] = (
            recogniser.wrap(runtime.create_session(model, options=options)),
            seconds,
        )
    reference = embed_all(variants["float32"][0], chips)
    reference_lfw = embed_all(variants["float32"][0], lfw)
    samples: dict[tuple[str, int], list[float]] = {}
    batch = chips[:8]
    for _ in range(rounds):  # interleaved: the shared vCPUs drift
        for name, (embed, _) in variants.items():
            for i in range(5):
                one = chips[i : i + 1]
                samples.setdefault((name, 1), []).append(timed_ms(lambda e=embed, c=one: e(c)))
            samples.setdefault((name, 8), []).append(timed_ms(lambda e=embed: e(batch)) / 8)
    ms = {key: statistics.median(values) for key, values in samples.items()}
    lines = [
        f"{recogniser.name} ({len(chips)} chips of shared/faces, {len(lfw)} of lfw-dev, "
        f"{len(pairs)} pairs):",
        "",
        "| variant | cosine min / median (faces) | min (lfw-dev) | same refused | different "
        "accepted | ms/face batch 1 | batch 8 | speed-up 1 / 8 | quantised in s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, (embed, seconds) in variants.items():
        vectors = embed_all(embed, chips)
        cosine = (vectors * reference).sum(axis=1)
        lfw_vectors = embed_all(embed, lfw)
        refused, accepted = pair_errors(models, lfw_vectors, pairs)
        lfw_min = (lfw_vectors * reference_lfw).sum(axis=1).min()
        lines.append(
            f"| {name} | {cosine.min():.4f} / {np.median(cosine):.4f} | {lfw_min:.4f} | "
            f"{refused} | {accepted} | {ms[(name, 1)]:.2f} | {ms[(name, 8)]:.2f} | "
            f"{ms[('float32', 1)] / ms[(name, 1)]:.2f}x / {ms[('float32', 8)] / ms[(name, 8)]:.2f}x"
            f" | {seconds:.0f} |"
        )
    return "\n".join(lines)


def iou(a: Floats, b: Floats) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return float(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))


def detector_table(data_dir: Path, rounds: int) -> str:
    options = EngineOptions.from_settings(
        Settings(model=model_sets.INSIGHTFACE_S, data_dir=data_dir)
    )
    models = model_sets.load(options)
    pack = model_sets.model_pack.read(model_sets._carrier_folder(), model_sets.BUFFALO_S_FILES)
    float32 = pack[Role.DETECTOR].path.read_bytes()
    photos = load_photos(FACES)
    pixels = [
        images.decode(d, max_image_pixels=options.max_image_pixels).pixels for _, d, _ in photos
    ]

    def detector(model: bytes) -> ScrfdDetector:
        session = runtime.create_session(model, options=options)
        return ScrfdDetector(session, max_detect_size=options.max_detect_size)

    reference = detector(float32)
    feeds = [{"input.1": reference.prepare(p)[0]} for p in pixels]
    variants = {"float32": reference} | {
        scheme: detector(quantize(float32, scheme, feeds)) for scheme in DETECTOR_SCHEMES
    }
    threshold = models.det_prob_threshold
    expected = [boxes.boxes for boxes in (reference.detect(p, threshold=threshold) for p in pixels)]
    samples: dict[str, list[float]] = {}
    for _ in range(rounds):
        for p in pixels:
            for name, found in variants.items():
                samples.setdefault(name, []).append(
                    timed_ms(lambda f=found, p=p: f.detect(p, threshold=threshold))
                )
    lines = [
        f"SCRFD-500M ({len(photos)} photos of shared/faces):",
        "",
        "| variant | photos with the manifest's count | IoU to float32 min / median | "
        "ms/photo | speed-up |",
        "|---|---|---|---|---|",
    ]
    for name, found in variants.items():
        detections = [found.detect(p, threshold=threshold).boxes for p in pixels]
        right = sum(len(d) == faces for d, (_, _, faces) in zip(detections, photos, strict=True))
        overlaps = [
            max((iou(box, other) for other in d), default=0.0)
            for boxes, d in zip(expected, detections, strict=True)
            for box in boxes
        ]
        mean = statistics.mean(samples[name])
        lines.append(
            f"| {name} | {right} / {len(photos)} | {min(overlaps):.3f} / "
            f"{statistics.median(overlaps):.3f} | {mean:.1f} | "
            f"{statistics.mean(samples['float32']) / mean:.2f}x |"
        )
    return "\n".join(lines)


def write_ranges(data_dir: Path) -> None:
    """The dlib network's activation ranges on the chips of shared/faces, into the package."""
    options = EngineOptions.from_settings(Settings(model=model_sets.DLIB, data_dir=data_dir))
    models = model_sets.load(options)
    chips = np.concatenate(
        [
            face_chips(
                models,
                images.decode(data, max_image_pixels=options.max_image_pixels).pixels,
                central=False,
            )
            for _, data, _ in load_photos(FACES)
        ]
    )
    float32 = ModelFile.in_data_dir(data_dir).load(source_path())
    runtime.calibrate_int8(float32, ({"chips": chip[None]} for chip in chips), ranges=RANGES)
    # ONNX Runtime writes it on one line; indented, a recalibration reads as a diff.
    RANGES.write_text(json.dumps(json.loads(RANGES.read_text()), indent=1, sort_keys=True) + "\n")
    print(f"{RANGES}: ranges of {len(chips)} chips")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--write-ranges", action="store_true")
    parser.add_argument("--only", choices=("dlib", "insightface-s", "detector"), default=None)
    args = parser.parse_args()
    data_dir = args.data_dir or Path(tempfile.mkdtemp())
    if args.write_ranges:
        write_ranges(data_dir)
    for recogniser in recognisers(data_dir):
        if args.only in (None, recogniser.name):
            print(recogniser_table(recogniser, data_dir, args.rounds), end="\n\n", flush=True)
    if args.only in (None, "detector"):
        print(detector_table(data_dir, args.rounds))


if __name__ == "__main__":
    main()
