"""The converted dlib network in the data directory: converted from the `.dat` in
`face_recognition_models` once, written to `<data_dir>/models/` with a sha256 checksum file,
and reused while both the file and its source still match their recorded checksums
(`facegate.engine.convert.converted_file`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from facegate.engine.convert.converted_file import ConvertedFile
from facegate.engine.convert.dlib.export import export_bytes
from facegate.engine.convert.dlib.reader import read_network
from facegate.engine.dlib.embedder import MODEL_NAME, source_path
from facegate.engine.options import EngineOptions


def convert(source: bytes) -> bytes:
    return export_bytes(read_network(source))


@dataclass(frozen=True)
class ModelFile(ConvertedFile):
    """dlib's network converted, in the data directory, with its checksum file beside it."""

    convert: Callable[[bytes], bytes] = convert

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ModelFile:
        return cls(data_dir / "models" / f"{MODEL_NAME}.onnx")


def build_model_file(options: EngineOptions, *, force: bool = False) -> Path:
    """Make sure the converted model exists and is current (convert when `force`); its path."""
    return ModelFile.in_data_dir(options.data_dir).ensure(source_path(), force=force)
