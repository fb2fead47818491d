"""Running face requests: the bounded engine and the typed query that the HTTP handlers, the
re-embedding job and the CLI all call (below `api/`, which only adds HTTP)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from facegate.engine import plugins as face_plugins
from facegate.engine.faces import Analysis, Face, FaceRequest
from facegate.engine.similarity import Scale
from facegate.errors import FileTooLarge, NoFaceFound

if TYPE_CHECKING:
    from facegate.engine.face_engine import FaceEngine


@dataclass(frozen=True)
class Image:
    """One image to analyse: its bytes and the name a client gave it (None for base64)."""

    data: bytes
    filename: str | None


@dataclass(frozen=True)
class FaceQuery:
    """What to detect and what to show: CompreFace's limit, threshold, plugins and status."""

    limit: int = 0
    det_prob_threshold: float | None = None
    plugins: list[str] = field(default_factory=list)
    status: bool = False


class Inference:
    """The face engine behind a bound on concurrent calls: requests queue instead of thrashing."""

    def __init__(
        self, engine: FaceEngine, max_concurrent: int, *, max_file_size: int | None = None
    ) -> None:
        """`max_file_size` (bytes; None: photos already accepted once, such as stored ones)."""
        self.engine = engine
        self._slots = threading.BoundedSemaphore(max(1, max_concurrent))
        self._max_file_size = max_file_size

    @property
    def calculator_id(self) -> str:
        calculator: str = self.engine.calculator_id
        return calculator

    @property
    def dimensions(self) -> int:
        """The length of the engine's embeddings."""
        dimensions: int = self.engine.dimensions
        return dimensions

    @property
    def scale(self) -> Scale:
        scale: Scale = self.engine.scale
        return scale

    def faces(
        self,
        image: Image,
        query: FaceQuery,
        *,
        embed: bool = True,
        limit: int | None = None,
        detect: bool = True,
    ) -> Analysis:
        """Faces in `image`, largest first; no face at all is CompreFace's error 28.

        `embed` computes embeddings whether or not the client asked to see them (recognize and
        verify need them); `limit` overrides the query's (add-example and verify take two faces
        to tell one from many); `detect=False` (recognize's `detect_faces=false`) takes the
        whole image as one face."""
        # The one check of an image file's size, for every caller (CompreFace: 413, code 21).
        if self._max_file_size is not None and len(image.data) > self._max_file_size:
            raise FileTooLarge(
                f"The image file is {len(image.data)} bytes; the maximum is "
                f"{self._max_file_size} bytes (max_file_size)"
            )
        request = FaceRequest(
            plugins=frozenset(query.plugins) | ({face_plugins.CALCULATOR} if embed else set()),
            det_prob_threshold=query.det_prob_threshold,
            limit=query.limit if limit is None else limit,
            detect=detect,
        )
        with self._slots:
            analysis: Analysis = self.engine.analyze(image.data, request)
        if not analysis.faces:
            raise NoFaceFound()
        return analysis


def embeddings(faces: Sequence[Face]) -> npt.NDArray[np.float32]:
    """The faces' embeddings as rows of one matrix (the calculator ran for each of them)."""
    rows = [face.embedding for face in faces]
    if any(row is None for row in rows):
        raise RuntimeError("the engine returned a face without the embedding it was asked for")
    return np.stack([row for row in rows if row is not None]).astype(np.float32)
