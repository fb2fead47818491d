"""The converted dlib network in the data directory: converted from the `.dat` in
`face_recognition_models` once, written to `<data_dir>/models/` with a sha256 checksum file,
and reused while both the file and its source still match their recorded checksums."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from facegate.engine.dlib_onnx.export import export_bytes
from facegate.engine.dlib_onnx.reader import read_network
from facegate.engine.embedder import MODEL_NAME, source_path
from facegate.engine.options import EngineOptions


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ModelFile:
    """The converted model in the data directory, with its checksum file beside it."""

    path: Path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> ModelFile:
        return cls(data_dir / "models" / f"{MODEL_NAME}.onnx")

    @property
    def checksum_path(self) -> Path:
        return self.path.with_name(self.path.name + ".sha256")

    def recorded(self) -> dict[str, str]:
        """File name -> sha256 from the checksum file (sha256sum format); empty if unreadable."""
        try:
            lines = self.checksum_path.read_text().splitlines()
        except OSError:
            return {}
        entries = (line.split("  ", 1) for line in lines if "  " in line)
        return {name: digest for digest, name in entries}

    def load(self, source: Path) -> bytes:
        """The model bytes: the stored file when its checksums still hold, else a new conversion."""
        source_bytes = source.read_bytes()
        recorded = self.recorded()
        if recorded.get(str(source)) == _sha256(source_bytes):
            try:
                model = self.path.read_bytes()
            except OSError:
                model = b""
            if recorded.get(self.path.name) == _sha256(model):
                return model
        return self.build(source_bytes, source)

    def build(self, source_bytes: bytes, source: Path) -> bytes:
        """Convert the network and write the model and its checksum file, each atomically."""
        model = export_bytes(read_network(source_bytes))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        checksums = (
            f"{_sha256(model)}  {self.path.name}\n{_sha256(source_bytes)}  {source}\n"
        ).encode()
        # Temporary name per process: several server workers may convert at the same time.
        for target, data in ((self.path, model), (self.checksum_path, checksums)):
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        return model


def build_model_file(options: EngineOptions, *, force: bool = False) -> Path:
    """Make sure the converted model exists and is current (convert when `force`); its path."""
    model_file = ModelFile.in_data_dir(options.data_dir)
    source = source_path()
    if force:
        model_file.build(source.read_bytes(), source)
    else:
        model_file.load(source)
    return model_file.path
