"""A model converted to ONNX from a file of an installed package, kept in the data directory:
written once with a sha256 checksum file beside it, reused while the converted file, its
source, any other file the conversion reads and the conversion's recipe still match their
recorded checksums."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class ConvertedFile:
    """The converted model at `path`; `convert` turns the source bytes into ONNX bytes."""

    path: Path
    convert: Callable[[bytes], bytes]
    # Files besides the source that `convert` reads (the int8 model's activation ranges): a
    # change to one converts again, as a change to the source does.
    inputs: tuple[Path, ...] = ()
    # The conversion's settings in words that change when they do (the int8 quantisation's):
    # recorded as the entry `recipe`, so a file an older release made otherwise is made again.
    recipe: str = ""

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
        made_from = self._made_from(source_bytes, source)
        recorded = self.recorded()
        if all(recorded.get(name) == digest for name, digest in made_from):
            try:
                model = self.path.read_bytes()
            except OSError:
                model = b""
            if recorded.get(self.path.name) == sha256(model):
                return model
        return self._build(source_bytes, made_from)

    def _build(self, source_bytes: bytes, made_from: list[tuple[str, str]]) -> bytes:
        """Convert the source and write the model and its checksum file (the model's and
        `made_from`'s), each atomically."""
        model = self.convert(source_bytes)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        checksums = "".join(
            f"{digest}  {name}\n" for name, digest in ((self.path.name, sha256(model)), *made_from)
        ).encode()
        # Temporary name per process: several server workers may convert at the same time.
        for target, data in ((self.path, model), (self.checksum_path, checksums)):
            temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
            temporary.write_bytes(data)
            os.replace(temporary, target)
        return model

    def _made_from(self, source_bytes: bytes, source: Path) -> list[tuple[str, str]]:
        """(name, sha256) of what the model is made from: source, other inputs, recipe."""
        made_from = [(str(source), sha256(source_bytes))]
        made_from += [(str(p), sha256(p.read_bytes())) for p in self.inputs]
        if self.recipe:
            made_from.append(("recipe", sha256(self.recipe.encode())))
        return made_from

    def ensure(self, source: Path, *, force: bool = False) -> Path:
        """Make sure the converted file exists and is current (convert when `force`); its path."""
        if force:
            source_bytes = source.read_bytes()
            self._build(source_bytes, self._made_from(source_bytes, source))
        else:
            self.load(source)
        return self.path
