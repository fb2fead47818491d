"""The converted dlib network in the data directory: converted from the `.dat` in
`face_recognition_models` once, written to `<data_dir>/models/` with a sha256 checksum file,
and reused while both the file and its source still match their recorded checksums
(`facegate.engine.convert.converted_file`). With `precision` int8, a second file quantised
from that one with the activation ranges recorded in `int8_ranges.json`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facegate.engine import runtime
from facegate.engine.convert.converted_file import ConvertedFile
from facegate.engine.convert.dlib.export import export_bytes
from facegate.engine.convert.dlib.reader import read_network
from facegate.engine.dlib.embedder import MODEL_NAME, source_path
from facegate.engine.options import EngineOptions

# The network's activation ranges on the chips of shared/faces, written by
# `benchmarks/int8.py --write-ranges`: numbers, not photos, so the package can quantise the
# network where it runs without calibration data (docs/decisions.md D85).
RANGES = Path(__file__).with_name("int8_ranges.json")


def convert(source: bytes) -> bytes:
    return export_bytes(read_network(source))


def quantize(model: bytes) -> bytes:
    return runtime.quantize_int8(model, ranges=RANGES)


@dataclass(frozen=True)
class ModelFile(ConvertedFile):
    """dlib's network converted, in the data directory, with its checksum file beside it."""

    convert: Callable[[bytes], bytes] = convert

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ModelFile:
        return cls(data_dir / "models" / f"{MODEL_NAME}.onnx")


def int8_file(data_dir: Path) -> ConvertedFile:
    """The int8 network, quantised from the float32 file; made again when the ranges or the
    quantisation's settings change."""
    return ConvertedFile(
        data_dir / "models" / f"{MODEL_NAME}.int8.onnx",
        quantize,
        (RANGES,),
        recipe=runtime.INT8_RECIPE,
    )


def load_model(options: EngineOptions) -> bytes:
    """The network's ONNX bytes at `options.precision`, converted (and quantised) on first use."""
    float32 = ModelFile.in_data_dir(options.data_dir)
    if options.precision == "float32":
        return float32.load(source_path())
    return int8_file(options.data_dir).load(float32.ensure(source_path()))


def build_model_file(options: EngineOptions, *, force: bool = False) -> Path:
    """Make sure the converted model (and with `precision` int8 the quantised one) exists and
    is current (convert when `force`); the path of the one the embedder loads."""
    path = ModelFile.in_data_dir(options.data_dir).ensure(source_path(), force=force)
    if options.precision == "float32":
        return path
    return int8_file(options.data_dir).ensure(path, force=force)
